"""Fixtures of the detection tests (no ``sys.path`` edits: helpers are fixtures).

* ``build_vidt(num_classes=10, num_det=None, dec_layers=None, arch='nano',
  init_cfg=None, init=True)``: a ViDT from ``configs/vidt/vidt_swin-nano_50e_coco.py``;
* ``det_batch(shapes, pad_to=(64, 64))``: padded images + ``DetDataSample`` s;
* ``make_digits_coco``: the function of ``tools/dataset_converters/make_digits_coco.py``;
* ``digits_coco_root``: one tiny digits COCO set for the session (4 train / 2 val
  images of 64x64), built once and shared by every training test;
* ``train_digits(cfg, work_dir)``: trains ``cfg`` (a loaded Config) through MMEngine's
  ``Runner`` on that set for 2 iterations (batch 2, 1 epoch) with the validation at the
  end; returns the runner.
"""
import functools
import os.path as osp
import runpy

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


@pytest.fixture(scope='session')
def make_digits_coco():
    tool = osp.join(REPO, 'tools', 'dataset_converters', 'make_digits_coco.py')
    return runpy.run_path(tool, run_name='make_digits_coco')['make_digits_coco']


@pytest.fixture(scope='session')
def digits_coco_root(tmp_path_factory, make_digits_coco):
    root = tmp_path_factory.mktemp('digits_coco')
    make_digits_coco(root, 4, 2, seed=1)
    return f'{root}/'


def _train_digits(root, cfg, work_dir):
    """2 iterations (4 images, batch 2, 1 epoch) + the COCO evaluation at the end."""
    from mmengine.runner import Runner
    cfg.merge_from_dict({
        'train_dataloader.dataset.data_root': root,
        'val_dataloader.dataset.data_root': root,
        'test_dataloader.dataset.data_root': root,
        'val_evaluator.ann_file': f'{root}annotations/instances_val.json',
        'test_evaluator.ann_file': f'{root}annotations/instances_val.json',
        'train_dataloader.batch_size': 2,
        'train_cfg.max_epochs': 1,
        'train_cfg.val_interval': 1,
        'default_hooks.logger.interval': 1,
        'default_hooks.checkpoint.interval': 2,  # no checkpoint file
        'default_hooks.checkpoint.save_last': False,
    })
    cfg.work_dir = str(work_dir)
    # unique: MMEngine's logger / visualizer / message hub are global per name
    cfg.experiment_name = '_'.join(str(work_dir).split(osp.sep)[-2:])
    cfg.visualizer.name = cfg.experiment_name  # MMDet's runtime names it 'visualizer'
    # the runner makes its default scope the current one; put the previous one back
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        runner = Runner.from_cfg(cfg)
        runner.train()
    return runner


@pytest.fixture(scope='session')
def train_digits(digits_coco_root):
    return functools.partial(_train_digits, digits_coco_root)
