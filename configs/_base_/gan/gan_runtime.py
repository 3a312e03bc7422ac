# Runtime of the GAN configs (mmkd_ext scope, iteration-based, best-FID checkpoints).
# Self-contained (no _base_) so that a GAN experiment stays within three _base_ levels;
# the data/model bases (biggan-diffaug_*.py) set val_cfg / test_cfg.
custom_imports = dict(imports=['mmkd_ext'], allow_failed_imports=False)
default_scope = 'mmkd_ext'
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=100),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='CheckpointHook',
        interval=4000,
        by_epoch=False,
        max_keep_ckpts=2,
        save_best='gen/FID',
        rule='less'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    rng_state=dict(type='RNGStateHook'),
    check_finite=dict(type='CheckFiniteLossHook'),
)
custom_hooks = [dict(type='GANSampleGridHook', interval=4000, per_class=8)]
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=[dict(type='LocalVisBackend')])
log_processor = dict(by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
# multi-GPU: G, D and the connector are wrapped separately (DataLimitedGAN.train_step
# calls them itself); frozen passes use the unwrapped modules
model_wrapper_cfg = dict(
    type='MMSeparateDistributedDataParallel',
    broadcast_buffers=False,
    find_unused_parameters=False)
