# VKD ViDT Swin-nano student with a ViDT Swin-small teacher (the small-teacher variant).
# The set-up of vkd_vidt-swin-nano_vidt-swin-base_50e_coco.py with the small teacher.
_base_ = [
    '../_base_/distill/vidt_vkd.py',
    '../_base_/datasets/coco_detection_detr-aug.py',
    '../_base_/schedules/coco_adamw_50e_vidt.py',
]
model = dict(
    teacher_ckpt='work_dirs/vidt_swin-small_50e_coco/epoch_50.pth',
    teacher=dict(backbone=dict(arch='small')))
