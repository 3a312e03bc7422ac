# ImageNet-1k (MMPretrain `ImageNet`: data/imagenet/{train,val}/<wnid>/*.JPEG, or
# meta/{train,val}.txt lists when present) with the DeiT-III "three augment" policy:
# random resized crop 224 + horizontal flip, then one of {grayscale, solarize, Gaussian
# blur} (each applied with probability 1), colour jitter 0.3. Mixup / CutMix and label
# smoothing live in the model (data preprocessor's batch augments and the head's loss).
# Batch 512 per GPU (two GPUs in the published runs; the reference also reports single-GPU
# runs of 512), last incomplete batch dropped. This is the pipeline of the VKD reference
# code (github:roymiles/vkd, augment.py), which replaces DeiT's RandAugment + random
# erasing by this policy (its --aa / --reprob flags are unused) and, despite its
# --repeated-aug flag, samples without repeated augmentation.
dataset_type = 'mmpretrain.ImageNet'
data_root = 'data/imagenet'
data_preprocessor = dict(
    num_classes=1000,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True,
)
img_size = 224
train_pipeline = [
    dict(type='mmpretrain.LoadImageFromFile'),
    dict(
        type='mmpretrain.RandomResizedCrop',
        scale=img_size,
        backend='pillow',
        interpolation='bicubic'),
    dict(type='mmpretrain.RandomFlip', prob=0.5, direction='horizontal'),
    dict(
        type='RandomChoice',  # mmcv.transforms.RandomChoice
        transforms=[
            # torchvision's Grayscale (the reference's): ITU-R 601-2 luma
            # L = 0.299 R + 0.587 G + 0.114 B; weights in the image's channel order (BGR
            # here; mmcv's default averages the channels equally)
            [
                dict(
                    type='mmpretrain.RandomGrayscale',
                    prob=1.0,
                    keep_channels=True,
                    channel_weights=(0.114, 0.587, 0.299),
                    color_format='bgr')
            ],
            [dict(type='mmpretrain.Solarize', thr=128, prob=1.0)],
            [
                dict(
                    type='mmpretrain.GaussianBlur',
                    magnitude_range=(0.1, 2.0),
                    magnitude_std='inf',
                    prob=1.0)
            ],
        ]),
    dict(type='mmpretrain.ColorJitter', brightness=0.3, contrast=0.3, saturation=0.3),
    dict(type='mmpretrain.PackInputs'),
]
test_pipeline = [
    dict(type='mmpretrain.LoadImageFromFile'),
    # DeiT evaluation: resize the short side to 256 (224 / 0.875), centre crop 224
    dict(
        type='mmpretrain.ResizeEdge',
        scale=int(img_size / 0.875),
        edge='short',
        backend='pillow',
        interpolation='bicubic'),
    dict(type='mmpretrain.CenterCrop', crop_size=img_size),
    dict(type='mmpretrain.PackInputs'),
]
train_dataloader = dict(
    batch_size=512,
    num_workers=10,
    persistent_workers=True,
    drop_last=True,
    dataset=dict(
        type=dataset_type, data_root=data_root, split='train', pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=256,
    num_workers=10,
    persistent_workers=True,
    dataset=dict(
        type=dataset_type, data_root=data_root, split='val', pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='mmpretrain.Accuracy', topk=(1, 5))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
