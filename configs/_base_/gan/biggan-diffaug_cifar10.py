# BigGAN + DiffAugment (translation, cutout) on CIFAR-10 (gan.md). Data: the extracted
# python-pickle folder at data/cifar10/cifar-10-batches-py. FID / IS use the standard FID
# Inception (torch-fidelity's TF 2015-12-05 port): put its weights file at
# data/inception/weights-inception-2015-12-05-6726825d.pth, or set
# feature_extractor.weights=None to let torch-fidelity download it (docs/gan.md).
# Runtime: leaves add ./gan_runtime.py beside this base.
num_classes = 10
data_root = 'data/cifar10'
model = dict(
    type='DataLimitedGAN',
    num_classes=num_classes,
    generator=dict(
        type='BigGANGenerator',
        num_classes=num_classes,
        z_dim=128,
        ch=256,
        bottom_width=4,
        num_blocks=3),
    discriminator=dict(
        type='BigGANDiscriminator',
        num_classes=num_classes,
        ch=256,
        num_blocks=4,
        num_down=2),
    disc_steps=4,  # one runner iteration = 4 D steps + 1 G step
    diffaug_policy='translation,cutout',
    real_hflip=True,
    ema_decay=0.9999,
    ema_start=1000,
)
# 4 D steps x 50 real images per iteration
train_dataloader = dict(
    batch_size=200,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='CIFARGANDataset',
        data_root=data_root,
        variant='cifar10',
        split='train',
        subset_ratio=None,
        subset_seed=0),
)
# EMA G evaluated on 10k samples (class-balanced labels, fixed noise)
val_dataloader = dict(
    batch_size=100,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='GANNoiseDataset',
        num_samples=10000,
        num_classes=num_classes,
        z_dim=128,
        seed=0),
)
val_evaluator = dict(
    type='GenerativeMetric',
    feature_extractor=dict(
        type='InceptionV3FeatureExtractor',
        weights='data/inception/weights-inception-2015-12-05-6726825d.pth'),
    real_dataset=dict(
        type='CIFARGANDataset', data_root=data_root, variant='cifar10', split='test'),
    metric_items=('FID', 'IS', 'PRDC'),
    prdc_num=5000,
)
test_dataloader = val_dataloader
test_evaluator = val_evaluator
optim_wrapper = dict(
    constructor='GANOptimWrapperConstructor',
    generator=dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.0, 0.999))),
    discriminator=dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.0, 0.999))),
)
train_cfg = dict(type='IterBasedTrainLoop', max_iters=250000, val_interval=4000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
