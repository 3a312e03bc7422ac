# Frozen digits teacher: the ResNet-18 (width 32) digits classifier (`teacher_model`
# of _base_/models/digits_resnet18-w32.py), 256-d pooled feature. Train it with
#   python tools/train.py configs/digits/resnet18-w32_20e_digits.py
_base_ = ['../models/digits_resnet18-w32.py']
digits_teacher = dict(
    type='FrozenImageEncoder',
    backbone=_base_.teacher_model,
    checkpoint='work_dirs/resnet18-w32_20e_digits/epoch_20.pth',
    ckpt_prefixes=dict(backbone=''),
    key_hint='model.teacher',
    mean=[39.6] * 3,
    std=[73.6] * 3,
)
