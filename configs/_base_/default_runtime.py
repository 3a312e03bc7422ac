# Runtime shared by the classification configs (MMPretrain conventions).
custom_imports = dict(imports=['mmkd_ext'], allow_failed_imports=False)
default_scope = 'mmpretrain'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='mmpretrain.VisualizationHook', enable=False),
    # RNG states in checkpoints: --resume repeats the uninterrupted run exactly
    rng_state=dict(type='mmkd_ext.RNGStateHook'),
    # stop at the first non-finite loss, before a NaN checkpoint is written
    check_finite=dict(type='mmkd_ext.CheckFiniteLossHook'),
)
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='mmpretrain.UniversalVisualizer', vis_backends=vis_backends)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
# plain validation / test loops (here rather than in the schedules, so that a method
# base next to a schedule, e.g. _base_/distill/kd.py, can set its own val_cfg)
val_cfg = dict()
test_cfg = dict()
