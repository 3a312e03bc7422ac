# ViDT Swin-nano on the embedded digits detection set (the baseline student of
# `make demo`): the nano detector with the digits sizes (10 classes, 30 [DET] tokens,
# 3 decoder layers), the digits data and schedule (12 epochs, lr 4e-4).
_base_ = [
    '../_base_/models/vidt_swin-nano.py',
    '../_base_/datasets/digits_coco_detection.py',
    '../_base_/schedules/digits_adamw_12e_vidt.py',
]
model = _base_.digits_vidt
