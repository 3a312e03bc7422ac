# Small BigGAN + DiffAugment on scikit-learn's digits (32x32, CPU-sized: width 64).
# Metrics use a digits classifier's features (the usual practice for small data):
# the ResNet-18-w8 digits classifier (`student_model` of
# _base_/models/digits_resnet18-w8.py); train it first with
#   python tools/train.py configs/digits/resnet18-w8_20e_digits.py
# That classifier was trained on 16x16 digits normalised with mean 77.8 / std 81.2
# (0..255 units, _base_/datasets/digits_bs32.py): the 32x32 images are resized to
# 16x16 (bilinear, = 2x2 average) and normalised the same way before it sees them.
_base_ = ['./gan_runtime.py', '../models/digits_resnet18-w8.py']
num_classes = 10
model = dict(
    type='DataLimitedGAN',
    num_classes=num_classes,
    generator=dict(
        type='BigGANGenerator',
        num_classes=num_classes,
        z_dim=64,
        ch=64,
        bottom_width=4,
        num_blocks=3),
    discriminator=dict(
        type='BigGANDiscriminator',
        num_classes=num_classes,
        ch=64,
        num_blocks=4,
        num_down=2),
    disc_steps=2,
    diffaug_policy='translation,cutout',
    real_hflip=False,  # digits are not mirror-symmetric
    ema_decay=0.999,
    ema_start=200,
)
train_dataloader = dict(
    batch_size=64,  # 2 D steps x 32
    num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='DigitsGANDataset',
        split='train',
        img_size=32,
        subset_ratio=None,
        subset_seed=0),
)
val_dataloader = dict(
    batch_size=100,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='GANNoiseDataset',
        num_samples=1000,
        num_classes=num_classes,
        z_dim=64,
        seed=0),
)
val_evaluator = dict(
    type='GenerativeMetric',
    feature_extractor=dict(
        type='ClassifierFeatureExtractor',
        model=_base_.student_model,
        checkpoint='work_dirs/resnet18-w8_20e_digits/epoch_20.pth',
        input_size=16,
        resize_mode='bilinear',
        mean=[77.8] * 3,
        std=[81.2] * 3),
    real_dataset=dict(type='DigitsGANDataset', split='test', img_size=32),
    metric_items=('FID', 'IS', 'PRDC'),
    prdc_num=1000,
)
test_dataloader = val_dataloader
test_evaluator = val_evaluator
optim_wrapper = dict(
    constructor='GANOptimWrapperConstructor',
    generator=dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.0, 0.999))),
    discriminator=dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.0, 0.999))),
)
train_cfg = dict(type='IterBasedTrainLoop', max_iters=3000, val_interval=1000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(interval=1000))
custom_hooks = [dict(type='GANSampleGridHook', interval=1000, per_class=8)]
