# Distilled DeiT students for ImageNet-1k (MMPretrain ImageClassifier +
# DeiTDistillClsHead: class-token and distillation-token classifiers, cross-entropy on
# the class head,
# mean of both heads at test time). Import a student by name in a distillation config:
#   architecture=_base_.deit_tiny_convstem
#
# * deit_{tiny,small}_convstem: the VKD reference students (github:roymiles/vkd,
#   models/deit.py): convolutional stem (3x conv-BN-ReLU, 7x7 s2 then two 3x3, 64
#   channels; 8x8 s8 projection), distillation token = mean of the patch embeddings,
#   drop path 0 (the reference never passes its --drop-path to the model).
#   6,633,104 / 23,797,520 parameters (6.63 M / 23.8 M) at 224 px, 1000 classes.
# * deit_{tiny,small}_p16: the DeiT of Touvron et al. 2021 as MMPretrain builds it
#   (16x16 patch projection, learned distillation token, DeiT's drop path 0.1);
#   5,910,800 / 22,436,432 parameters.
# Init: truncated normal (std 0.02) linears and unit LayerNorms, as timm's ViT; the
# backbones add their own (position embedding, class token, Kaiming stem convs).
_vit_init = [
    dict(type='TruncNormal', layer='Linear', std=0.02),
    dict(type='Constant', layer='LayerNorm', val=1.0, bias=0.0),
]
_head = dict(
    type='DeiTDistillClsHead',
    num_classes=1000,
    in_channels=192,
    # with Mixup / CutMix soft targets: timm's SoftTargetCrossEntropy on
    # label-smoothed (0.1) mixed targets, as the DeiT / VKD recipes
    loss=dict(
        type='LabelSmoothLoss', label_smooth_val=0.1, mode='original', loss_weight=1.0))

deit_tiny_convstem = dict(
    _scope_='mmpretrain',
    type='ImageClassifier',
    backbone=dict(
        type='ConvStemDistilledVisionTransformer',
        arch='deit-tiny',
        img_size=224,
        drop_path_rate=0.0,
        out_type='cls_token'),
    neck=None,
    head=_head,
    init_cfg=_vit_init)
deit_small_convstem = dict(
    deit_tiny_convstem,
    backbone=dict(deit_tiny_convstem['backbone'], arch='deit-small'),
    head=dict(_head, in_channels=384))

deit_tiny_p16 = dict(
    _scope_='mmpretrain',
    type='ImageClassifier',
    backbone=dict(
        type='DistilledVisionTransformer',
        arch='deit-tiny',
        img_size=224,
        patch_size=16,
        drop_path_rate=0.1,
        out_type='cls_token'),
    neck=None,
    head=_head,
    init_cfg=_vit_init)
deit_small_p16 = dict(
    deit_tiny_p16,
    backbone=dict(deit_tiny_p16['backbone'], arch='deit-small'),
    head=dict(_head, in_channels=384))
