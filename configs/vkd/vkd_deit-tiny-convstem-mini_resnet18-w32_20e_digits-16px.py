# The VKD paper's classification setting (a DeiT student distilled from a CNN teacher,
# VKD Table 6), small enough for the CPU study tools/benchmark/digits_deit.py
# (docs/studies.md, "DeiT"). This is vkd_deit-tiny-convstem_regnety160_300e_in1k.py with
# only these changed:
# * data: the embedded digits (1437 train / 360 test) at 16 px, the resolution the
#   digits classifiers use; random crop (padding 2) instead of ImageNet's
#   three-augment; batch 32. Mixup / CutMix and label smoothing stay (they are the
#   recipe, in the model);
# * image size / stem stride: the stem's total stride is 4 instead of 16 (its 7x7
#   stride-2 conv, then a 2x2 stride-2 projection instead of 8x8 stride-8), so the
#   16 px digits give 4 x 4 = 16 patch tokens (a 64 px input with the stride-16 stem
#   gives the same grid, but that student did not train in the study's budget:
#   docs/studies.md);
# * student depth / width: 4 blocks, 64-d, 2 heads, MLP 256, stem 32 channels;
# * teacher: the digits CNN (CIFAR ResNet-18, width 32, configs/digits/
#   resnet18-w32_20e_digits.py, trained at 16 px; `teacher_input_size` keeps feeding it
#   16 px if the student's images are made larger); its features are the 256-d pooled
#   neck output and its logits;
# * schedule: 20 epochs of the same AdamW (lr 5e-4, wd 0.05) with per-iteration cosine.
# Losses as in the ImageNet config: CE of the class token, KL (T = 1) of the
# distillation token to the teacher's logits, VKD (token mean -> orthogonal projection
# 64 -> 256 against the per-sample standardised teacher feature, smooth L1). Arms of
# Table 6 and the baselines: the `_linear-nonorm`, `_linear-std`, `_orth-nonorm`,
# `_distill-token` and `_student-alone` variants beside this file.
#   python tools/train.py configs/digits/resnet18-w32_20e_digits.py
#   python tools/train.py \
#       configs/vkd/vkd_deit-tiny-convstem-mini_resnet18-w32_20e_digits-16px.py
_base_ = [
    './vkd_deit-tiny-convstem_regnety160_300e_in1k.py',
    '../_base_/models/digits_resnet18-w32.py',  # the teacher, `teacher_model`
]

img_size = 16
teacher_ckpt = 'work_dirs/resnet18-w32_20e_digits/epoch_20.pth'
_digits = dict(type='mmpretrain.DigitsDataset', img_size=img_size)
train_dataloader = dict(
    batch_size=32,
    num_workers=0,
    persistent_workers=False,
    drop_last=True,
    dataset=dict(
        _delete_=True,
        split='train',
        pipeline=[
            dict(type='mmpretrain.RandomCrop', crop_size=img_size, padding=2),
            dict(type='mmpretrain.PackInputs'),
        ],
        **_digits))
val_dataloader = dict(
    batch_size=64,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        _delete_=True,
        split='test',
        pipeline=[dict(type='mmpretrain.PackInputs')],
        **_digits))
test_dataloader = val_dataloader
val_evaluator = dict(type='mmpretrain.Accuracy', topk=(1, ))
test_evaluator = val_evaluator

model = dict(
    # the digits statistics (configs/_base_/datasets/digits_bs32.py); 10 classes
    data_preprocessor=dict(
        num_classes=10, mean=[77.8, 77.8, 77.8], std=[81.2, 81.2, 81.2], to_rgb=False),
    architecture=dict(
        backbone=dict(
            arch=dict(
                _delete_=True,
                embed_dims=64,
                num_layers=4,
                num_heads=2,
                feedforward_channels=256),
            img_size=img_size,
            stem_stride=4,
            stem_channels=32),
        head=dict(num_classes=10, in_channels=64)),
    teacher=dict(_base_.teacher_model, _delete_=True),
    teacher_ckpt=teacher_ckpt,
    teacher_input_size=(16, 16),
    distiller=dict(
        dry_run_shape=(2, 3, img_size, img_size),
        teacher_recorders=dict(
            feat=dict(type='ModuleOutputs', source='neck'),
            logits=dict(type='ModuleOutputs', source='head.fc')),
        loss_forward_mappings=dict(loss_vkd=dict(preds_T=dict(data_idx=0)))))

max_epochs = 20
param_scheduler = dict(T_max=max_epochs)
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(logger=dict(interval=10))
