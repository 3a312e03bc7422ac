# Frozen digits teacher: the ResNet-18 (width 32) digits classifier (`teacher_model`
# of _base_/models/digits_resnet18-w32.py), 256-d pooled feature. Train it with
#   python tools/train.py configs/digits/resnet18-w32_20e_digits.py
# It was trained on 16x16 digits, mean 77.8 / std 81.2 (0..255 units,
# _base_/datasets/digits_bs32.py): larger images are resized to 16x16 (bilinear) and
# normalised the same way.
_base_ = ['../models/digits_resnet18-w32.py']
digits_teacher = dict(
    type='FrozenImageEncoder',
    backbone=_base_.teacher_model,
    checkpoint='work_dirs/resnet18-w32_20e_digits/epoch_20.pth',
    ckpt_prefixes=dict(backbone=''),
    key_hint='model.teacher',
    input_size=16,
    resize_mode='bilinear',
    mean=[77.8] * 3,
    std=[81.2] * 3,
)
