# DeiT schedule as quoted by VKD: AdamW lr 5e-4 for the total batch of 1024 (2 GPUs x
# 512), weight decay 0.05 except on 1-d parameters (norms, biases), the position
# embedding and the class / distillation tokens; cosine decay per iteration to 5e-6,
# no warm-up; 300 epochs.
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=5e-4, weight_decay=0.05, betas=(0.9, 0.999),
                   eps=1e-8),
    paramwise_cfg=dict(
        norm_decay_mult=0.0,
        bias_decay_mult=0.0,
        flat_decay_mult=0.0,
        custom_keys={
            '.cls_token': dict(decay_mult=0.0),
            '.dist_token': dict(decay_mult=0.0),
            '.pos_embed': dict(decay_mult=0.0),
        }),
)
param_scheduler = dict(
    type='CosineAnnealingLR', by_epoch=True, T_max=300, eta_min=5e-6,
    convert_to_iter_based=True)
train_cfg = dict(by_epoch=True, max_epochs=300, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=1024)
