# ViDT Swin-base (window 7, ImageNet-22k backbone in the paper), COCO, 50 epochs.
# (the set-up of ./vidt_swin-nano_50e_coco.py)
_base_ = [
    '../_base_/models/vidt_swin-nano.py',
    '../_base_/datasets/coco_detection_detr-aug.py',
    '../_base_/schedules/coco_adamw_50e_vidt.py',
]
model = dict(backbone=dict(arch='base'))
