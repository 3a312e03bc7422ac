# ViDT token matching (the KD baseline of VKD) of the Swin-nano student on the
# embedded digits set, from the digits Swin-tiny teacher
# (configs/vidt/vidt_swin-tiny_12e_digits.py; its checkpoint is `model.teacher_ckpt`):
# as configs/vkd/vkd_vidt-swin-nano_vidt-swin-tiny_12e_digits.py with the
# token-matching distiller.
#   python tools/train.py configs/vidt/vidt_swin-tiny_12e_digits.py
#   python tools/train.py \
#       configs/token_matching/token-matching_vidt-swin-nano_vidt-swin-tiny_12e_digits.py
_base_ = [
    '../_base_/distill/vidt_token-matching.py',
    '../_base_/datasets/digits_coco_detection.py',
    '../_base_/schedules/digits_adamw_12e_vidt.py',
]
model = dict(
    teacher_ckpt='work_dirs/vidt_swin-tiny_12e_digits/epoch_12.pth',
    architecture=_base_.digits_vidt,
    teacher=dict(_base_.digits_vidt, backbone=dict(arch='tiny')))
