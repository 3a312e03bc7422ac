# VKD ViDT Swin-nano student on the embedded digits set (the main job of `make demo`).
# Inherits the COCO VKD config; changes only what the small data needs: the data, the
# 10 classes, the schedule of configs/vidt/vidt_swin_nano_digits.py and the teacher
# (the digits teacher configs/vidt/vidt_swin_tiny_digits.py; its checkpoint path is
# `teacher_ckpt`).
_base_ = ['./vidt_swin_nano_coco.py',
          '../_base_/datasets/digits_coco_detection.py']
teacher_ckpt = 'work_dirs/vidt_swin_tiny_digits/epoch_12.pth'
num_det = 30  # as configs/vidt/vidt_swin_nano_digits.py
_small = dict(num_queries=num_det, decoder=dict(num_layers=3),
              bbox_head=dict(num_classes=10), test_cfg=dict(max_per_img=num_det))
model = dict(
    teacher_ckpt=teacher_ckpt,
    architecture=dict(backbone=dict(num_det_tokens=num_det), **_small),
    teacher=dict(backbone=dict(arch='tiny', num_det_tokens=num_det),
                 neck=dict(in_channels=[192, 384, 768, 256]), **_small))
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
