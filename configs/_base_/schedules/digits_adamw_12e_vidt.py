# ViDT on the embedded digits detection set (configs/_base_/datasets/
# digits_coco_detection.py), shared by the digits ViDT, VKD and token-matching configs:
# the COCO recipe of ./coco_adamw_50e_vidt.py (optimizer and runtime; written out here,
# no base of a base, so that the digits configs and their variants stay within three
# _base_ levels) with a short schedule (12 epochs, cosine to 1e-6, one evaluation at
# the end) and a higher lr, plus the detector sizes the small data needs (`digits_vidt`,
# merged into every ViDT of those configs): 10 classes, 30 [DET] tokens (at most 3
# digits per image), 3 decoder layers (so that `make demo` fits a 2-core CPU).
_base_ = 'mmdet::_base_/default_runtime.py'
custom_imports = dict(imports=['mmkd_ext'], allow_failed_imports=False)
default_scope = 'mmdet'

digits_vidt = dict(
    num_queries=30,
    decoder=dict(num_layers=3),
    bbox_head=dict(num_classes=10),
    test_cfg=dict(max_per_img=30))

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=4e-4, weight_decay=1e-4),
    clip_grad=dict(max_norm=0.1, norm_type=2),
    constructor='ViDTOptimWrapperConstructor',
    paramwise_cfg=dict(no_decay_names=('det_token', 'det_pos_embed')))
max_epochs = 12
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs,
        eta_min=1e-6,
        begin=0,
        end=max_epochs,
        by_epoch=True)
]
auto_scale_lr = dict(enable=False, base_batch_size=8)
# RNG states in checkpoints (mmkd_ext.RNGStateHook, as in ./coco_adamw_50e_vidt.py)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=5),
    checkpoint=dict(type='CheckpointHook', interval=max_epochs, max_keep_ckpts=1),
    rng_state=dict(type='mmkd_ext.RNGStateHook'))
