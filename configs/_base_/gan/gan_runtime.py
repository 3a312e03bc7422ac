# Runtime of the GAN configs (mmkd_ext scope, iteration-based, best-FID checkpoints).
_base_ = ['../default_runtime.py']
default_scope = 'mmkd_ext'
default_hooks = dict(
    _delete_=True,
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
visualizer = dict(
    _delete_=True, type='Visualizer', vis_backends=[dict(type='LocalVisBackend')])
log_processor = dict(by_epoch=False)
# multi-GPU: G, D and the connector are wrapped separately (DataLimitedGAN.train_step
# calls them itself); frozen passes use the unwrapped modules
model_wrapper_cfg = dict(
    type='MMSeparateDistributedDataParallel',
    broadcast_buffers=False,
    find_unused_parameters=False)
