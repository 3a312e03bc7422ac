# ViDT Swin-tiny on the digits detection set: the teacher of `make demo`.
# The set-up of vidt_swin-nano_12e_digits.py with the tiny backbone.
_base_ = [
    '../_base_/models/vidt_swin-nano.py',
    '../_base_/datasets/digits_coco_detection.py',
    '../_base_/schedules/digits_adamw_12e_vidt.py',
]
model = dict(_base_.digits_vidt, backbone=dict(arch='tiny'))
