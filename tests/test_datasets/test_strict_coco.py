"""StrictCocoDataset: a missing annotation file, an annotation file without images and
an image missing on disk are clear errors naming the file."""
import json
import os.path as osp

import numpy as np
from mmdet.registry import DATASETS
from mmengine.registry import DefaultScope

import mmkd_ext  # noqa: F401


def _coco(tmp_path, images, with_file=True):
    root = tmp_path / 'coco'
    (root / 'annotations').mkdir(parents=True)
    (root / 'train').mkdir()
    anns = [
        dict(
            id=i + 1,
            image_id=img['id'],
            category_id=1,
            bbox=[1, 1, 4, 4],
            area=16,
            iscrowd=0) for i, img in enumerate(images)
    ]
    ann = root / 'annotations' / 'instances_train.json'
    ann.write_text(
        json.dumps(
            dict(images=images, annotations=anns, categories=[dict(id=1, name='0')])))
    if with_file:
        from PIL import Image
        for img in images:
            Image.fromarray(np.zeros((16, 16, 3),
                                     np.uint8)).save(root / 'train' / img['file_name'])
    return str(root)


def _coco_dataset(root, ann='annotations/instances_train.json'):
    with DefaultScope.overwrite_default_scope('mmdet'):
        return DATASETS.build(
            dict(
                type='StrictCocoDataset',
                data_root=root,
                ann_file=ann,
                data_prefix=dict(img='train/'),
                metainfo=dict(classes=('0', )),
                filter_cfg=dict(filter_empty_gt=False),
                pipeline=[
                    dict(type='LoadImageFromFile'),
                    dict(type='LoadAnnotations', with_bbox=True),
                    dict(type='PackDetInputs')
                ]))


# -- bad inputs (docs/bad_inputs.md) ----------------------------------------------------
def test_b30_missing_annotation_file(tmp_path, raises):
    root = _coco(tmp_path, [])
    raises(FileNotFoundError, lambda: _coco_dataset(root, 'annotations/nope.json'),
           'nope.json')


def test_b31_empty_dataset(tmp_path, raises):
    root = _coco(tmp_path, [])
    raises(ValueError, lambda: _coco_dataset(root), 'instances_train.json', 'empty')


def test_b32_image_missing_on_disk(tmp_path, raises):
    root = _coco(
        tmp_path, [dict(id=1, file_name='a.png', width=16, height=16)], with_file=False)
    ds = _coco_dataset(root)
    raises(FileNotFoundError, lambda: ds[0], osp.join('train', 'a.png'))
