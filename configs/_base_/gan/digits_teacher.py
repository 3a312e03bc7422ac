# Frozen digits teacher: the ResNet-18 (width 32) digits classifier, 256-d pooled
# feature. Train it with  python tools/train.py configs/digits/resnet18-w32_20e_digits.py
digits_teacher = dict(
    type='FrozenImageEncoder',
    backbone=dict(
        _scope_='mmpretrain',
        type='ImageClassifier',
        backbone=dict(type='ResNet_CIFAR', depth=18, stem_channels=32,
                      base_channels=32, num_stages=4, out_indices=(3, ),
                      style='pytorch'),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=10, in_channels=256)),
    checkpoint='work_dirs/resnet18-w32_20e_digits/epoch_20.pth',
    ckpt_prefixes=dict(backbone=''),
    key_hint='model.teacher',
    mean=[39.6] * 3, std=[73.6] * 3,
)
