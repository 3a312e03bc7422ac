# ViDT's published COCO recipe (shared/design/vidt.md) and the detection runtime:
# AdamW lr 1e-4 (backbone too), weight decay 1e-4 (none on norms, biases, [DET] tokens /
# position embeddings, relative-position tables), gradient clip 0.1, cosine to 1e-7
# stepped per epoch, no warm-up, 50 epochs; 2 images per GPU on 8 GPUs (16 in total).
_base_ = 'mmdet::_base_/default_runtime.py'
custom_imports = dict(imports=['mmkd_ext'], allow_failed_imports=False)
default_scope = 'mmdet'

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, weight_decay=1e-4),
    clip_grad=dict(max_norm=0.1, norm_type=2),
    paramwise_cfg=dict(
        norm_decay_mult=0.0,
        bias_decay_mult=0.0,
        custom_keys={
            'det_token': dict(decay_mult=0.0),
            'det_pos_embed': dict(decay_mult=0.0),
            'relative_position_bias_table': dict(decay_mult=0.0),
        }))

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
