# The embedded digits data (scikit-learn's load_digits, 1437 train / 360 test),
# see mmkd_ext/datasets/digits.py. The scans are 8x8: the classification configs
# upsample them to 16x16 (half the cost of the dataset's 32x32 default, no
# information lost); set `img_size` to change it.
dataset_type = 'mmpretrain.DigitsDataset'
img_size = 16
data_preprocessor = dict(
    num_classes=10,
    mean=[77.8, 77.8, 77.8],
    std=[81.2, 81.2, 81.2],
    to_rgb=False,
)
train_pipeline = [
    dict(type='mmpretrain.RandomCrop', crop_size=img_size, padding=2),
    dict(type='mmpretrain.PackInputs'),
]
test_pipeline = [dict(type='mmpretrain.PackInputs')]
train_dataloader = dict(
    batch_size=32,
    num_workers=0,
    dataset=dict(
        type=dataset_type, split='train', img_size=img_size, pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=64,
    num_workers=0,
    dataset=dict(
        type=dataset_type, split='test', img_size=img_size, pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='mmpretrain.Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
