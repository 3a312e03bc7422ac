# ViDT on the embedded digits detection set (configs/_base_/datasets/
# digits_coco_detection.py), shared by the digits ViDT, VKD and token-matching configs:
# the COCO recipe's optimizer and runtime with a short schedule (12 epochs, cosine to
# 1e-6, one evaluation at the end) and a higher lr, plus the detector sizes the small
# data needs (`digits_vidt`, merged into every ViDT of those configs): 10 classes,
# 30 [DET] tokens (at most 3 digits per image), 3 decoder layers (so that `make demo`
# fits a 2-core CPU).
_base_ = './coco_adamw_50e_vidt.py'

digits_vidt = dict(
    num_queries=30,
    decoder=dict(num_layers=3),
    bbox_head=dict(num_classes=10),
    test_cfg=dict(max_per_img=30))

optim_wrapper = dict(optimizer=dict(lr=4e-4))
max_epochs = 12
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs,
        eta_min=1e-6,
        begin=0,
        end=max_epochs,
        by_epoch=True)
]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=5),
    checkpoint=dict(type='CheckpointHook', interval=max_epochs, max_keep_ckpts=1))
auto_scale_lr = dict(enable=False, base_batch_size=8)
