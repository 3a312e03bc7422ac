# COCO 2017 (MMDet's base, data under data/coco) with ViDT's DETR-style augmentation:
# flip, then either a multi-scale resize (shorter side 480..800 step 16: the 21 sizes
# of the reference's datasets/coco.py, max 1333) or
# resize 400/500/600 + random crop 384..600 + the multi-scale resize; 2 images per GPU.
# Test: shorter side 800, max 1333 (MMDet's base).
_base_ = 'mmdet::_base_/datasets/coco_detection.py'

_scales = [(s, 1333) for s in range(480, 801, 16)]
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='RandomChoice',
        transforms=[
            [dict(type='RandomChoiceResize', scales=_scales, keep_ratio=True)],
            [
                dict(
                    type='RandomChoiceResize',
                    scales=[(400, 4200), (500, 4200), (600, 4200)],
                    keep_ratio=True),
                dict(
                    type='RandomCrop',
                    crop_type='absolute_range',
                    crop_size=(384, 600),
                    allow_negative_crop=True),
                dict(type='RandomChoiceResize', scales=_scales, keep_ratio=True)
            ],
        ]),
    dict(type='PackDetInputs')
]
train_dataloader = dict(
    batch_size=2,
    dataset=dict(filter_cfg=dict(filter_empty_gt=False), pipeline=train_pipeline))
