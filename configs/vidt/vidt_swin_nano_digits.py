# ViDT Swin-nano on the embedded digits detection set (the baseline student of
# `make demo`). Inherits the COCO recipe; changes only what the small data needs:
# the data (64x64 images, 10 classes), 30 [DET] tokens (at most 3 digits per image),
# 3 decoder layers (so that `make demo` fits a 2-core CPU), a short schedule and a
# higher lr.
_base_ = ['./vidt_swin_nano_50e_coco.py',
          '../_base_/datasets/digits_coco_detection.py']
num_det = 30
model = dict(
    num_queries=num_det,
    backbone=dict(num_det_tokens=num_det),
    decoder=dict(num_layers=3),
    bbox_head=dict(num_classes=10),
    test_cfg=dict(max_per_img=num_det))
train_dataloader = dict(_base_.digits_train_dataloader, _delete_=True)
val_dataloader = dict(_base_.digits_val_dataloader, _delete_=True)
test_dataloader = val_dataloader
val_evaluator = dict(_base_.digits_val_evaluator, _delete_=True)
test_evaluator = val_evaluator

max_epochs = 12
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=4e-4))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=1e-6, begin=0,
         end=max_epochs, by_epoch=True)
]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=5),
    checkpoint=dict(type='CheckpointHook', interval=max_epochs, max_keep_ckpts=1))
auto_scale_lr = dict(enable=False, base_batch_size=8)
