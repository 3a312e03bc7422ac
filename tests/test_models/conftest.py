"""Fixtures of the model tests (the suite-wide ones are in ``tests/conftest.py``).

* ``build_vidt(num_classes=10, num_det=None, dec_layers=None, arch='nano',
  init_cfg=None, init=True)``: a ViDT from ``configs/vidt/vidt_swin-nano_50e_coco.py``;
* ``det_batch(shapes, pad_to=(64, 64))``: padded images + ``DetDataSample`` s;
* ``filled_bank(name=None, c=4, d=6, seed=0)``: an online ``PrototypeBank`` of ``c``
  classes in ``d`` dimensions, updated once with 3 seeded samples per class.
"""
import os.path as osp

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData

import mmkd_ext  # noqa: F401

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def build_nano(num_classes=10,
               num_det=None,
               dec_layers=None,
               arch='nano',
               init_cfg=None,
               init=True):
    """ViDT from the nano COCO config (optionally another Swin ``arch``, fewer [DET]
    tokens / decoder layers to keep CPU tests fast, an ``init_cfg``)."""
    cfg = Config.fromfile(osp.join(REPO, 'configs/vidt/vidt_swin-nano_50e_coco.py'))
    cfg.model.bbox_head.num_classes = num_classes
    cfg.model.backbone.arch = arch  # the neck's input widths follow (inferred)
    if init_cfg is not None:
        cfg.model.init_cfg = init_cfg
    if num_det is not None:
        cfg.model.num_queries = num_det  # the backbone's [DET] tokens follow
        cfg.model.test_cfg.max_per_img = num_det
    if dec_layers is not None:
        cfg.model.decoder.num_layers = dec_layers
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(cfg.model)
    if init:
        model.init_weights()
    return model


def make_batch(shapes, pad_to=(64, 64)):
    torch.manual_seed(0)
    inputs = torch.zeros(len(shapes), 3, *pad_to)
    samples = []
    for i, (h, w) in enumerate(shapes):
        inputs[i, :, :h, :w] = torch.randn(3, h, w)
        s = DetDataSample(
            metainfo=dict(
                img_shape=(h, w),
                ori_shape=(2 * h, 2 * w),
                batch_input_shape=pad_to,
                pad_shape=pad_to,
                scale_factor=(0.5, 0.5)))
        s.gt_instances = InstanceData(
            bboxes=torch.tensor([[4., 6., 30., 28.], [20., 10., w - 2., h - 4.]]),
            labels=torch.tensor([1, 7]))
        samples.append(s)
    return inputs, samples


@pytest.fixture(scope='session')
def build_vidt():
    return build_nano


@pytest.fixture(scope='session')
def det_batch():
    return make_batch


def _filled_bank(name=None, c=4, d=6, seed=0):
    from mmkd_ext.models.utils.prototype_bank import PrototypeBank
    g = torch.Generator().manual_seed(seed)
    bank = PrototypeBank(c, d, name=name)
    y = torch.arange(c).repeat(3)
    bank(torch.randn(3 * c, d, generator=g) + 3 * torch.randn(c, d, generator=g)[y], y)
    return bank


@pytest.fixture(scope='session')
def filled_bank():
    return _filled_bank
