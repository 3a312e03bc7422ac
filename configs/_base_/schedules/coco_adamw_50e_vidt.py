# ViDT's COCO recipe as its reference code trains it (naver-ai/vidt main, 5207d04;
# docs/detection.md) and the detection runtime: AdamW lr 1e-4 (backbone too), weight
# decay 1e-4 except on the backbone's 1-d parameters, biases, [DET] tokens and their
# position embeddings (ViDTOptimWrapperConstructor: the head's norms and biases and the
# backbone's relative-position tables are decayed, as there), gradient clip 0.1, cosine
# to 1e-7 stepped per epoch, no warm-up, 50 epochs; 2 images per GPU on 8 GPUs (16).
_base_ = 'mmdet::_base_/default_runtime.py'
custom_imports = dict(imports=['mmkd_ext'], allow_failed_imports=False)
default_scope = 'mmdet'

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, weight_decay=1e-4),
    clip_grad=dict(max_norm=0.1, norm_type=2),
    constructor='ViDTOptimWrapperConstructor',
    paramwise_cfg=dict(no_decay_names=('det_token', 'det_pos_embed')))

max_epochs = 50
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs,
        eta_min=1e-7,
        begin=0,
        end=max_epochs,
        by_epoch=True)
]
# base_batch_size = (8 GPUs) x (2 samples per GPU)
auto_scale_lr = dict(base_batch_size=16)
# RNG states in checkpoints (exact resume) and paired seeds: the same
# randomness.seed gives the student the same init and training streams with or
# without a teacher (mmkd_ext.RNGStateHook, as in configs/_base_/default_runtime.py)
default_hooks = dict(rng_state=dict(type='mmkd_ext.RNGStateHook'))
