# VKD ViDT Swin-nano student on the embedded digits set (the main job of `make demo`),
# from the digits Swin-tiny teacher (configs/vidt/vidt_swin-tiny_12e_digits.py; its
# checkpoint is `model.teacher_ckpt`): the VKD set-up of the COCO config with the
# digits data, schedule and detector sizes.
#   python tools/train.py configs/vidt/vidt_swin-tiny_12e_digits.py
#   python tools/train.py configs/vkd/vkd_vidt-swin-nano_vidt-swin-tiny_12e_digits.py
_base_ = [
    '../_base_/distill/vidt_vkd.py',
    '../_base_/datasets/digits_coco_detection.py',
    '../_base_/schedules/digits_adamw_12e_vidt.py',
]
model = dict(
    teacher_ckpt='work_dirs/vidt_swin-tiny_12e_digits/epoch_12.pth',
    architecture=_base_.digits_vidt,
    teacher=dict(_base_.digits_vidt, backbone=dict(arch='tiny')))
