"""Helpers of the bring-your-own-student tests (docs/custom_student.md examples): the
examples as configs, a digits teacher file, 2-iteration runners and plain builds."""
import math
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
TWO_ITERS = {  # 32 training images in batches of 16: one epoch of 2 iterations
    'train_dataloader.dataset.subset_ratio': 32 / 1437,
    'train_dataloader.batch_size': 16,
    'train_cfg.max_epochs': 1,
    'train_cfg.val_begin': 2,
    'param_scheduler.T_max': 1,
    'default_hooks.logger.interval': 1,
    'default_hooks.checkpoint.interval': -1,
    'default_hooks.checkpoint.save_last': False,
}


@pytest.fixture(scope='module')
def teacher_ckpt(tmp_path_factory):
    """A freshly built digits teacher's weights (the shipped teacher config)."""
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile(osp.join(REPO, 'configs/digits/resnet18-w32_20e_digits.py'))
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp('teacher') / 'teacher.pth'
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        torch.save({'state_dict': MODELS.build(cfg.model).state_dict()}, path)
    return str(path)


def build_runner(cfg, tmp_path, teacher_ckpt, **options):
    cfg.merge_from_dict(
        dict(TWO_ITERS, **{'model.teacher_ckpt': teacher_ckpt}, **options))
    cfg.work_dir = str(tmp_path / 'work')
    with DefaultScope.overwrite_default_scope(cfg.default_scope):  # no scope leak
        return Runner.from_cfg(cfg)


def build_model(cfg, teacher_ckpt, **options):
    """What Runner.from_cfg does first: build the algorithm from cfg.model."""
    from mmrazor.registry import MODELS
    cfg.merge_from_dict(dict({'model.teacher_ckpt': teacher_ckpt}, **options))
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        return MODELS.build(cfg.model)


def train_two_iterations(runner, loss_key):
    with DefaultScope.overwrite_default_scope('mmrazor'):
        runner.train()
    assert runner.iter == 2
    value = runner.message_hub.get_scalar(f'train/{loss_key}').current()
    assert math.isfinite(value)


@pytest.fixture
def cs(doc_example):
    """The helpers above, for the test modules (``cs.doc_config(...)`` etc.);
    ``cs.doc_config(name, tmp_path)``: the example ``configs/custom/<name>`` of
    docs/custom_student.md, loaded."""

    def doc_config(name, tmp_path):
        return Config.fromfile(doc_example('custom_student.md', name, tmp_path))

    return SimpleNamespace(
        doc_config=doc_config,
        build_runner=build_runner,
        build_model=build_model,
        train_two_iterations=train_two_iterations)
