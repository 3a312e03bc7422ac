"""ViDT weight decay as the reference trains it (naver-ai/vidt main ``main.py``):
no decay only on the backbone's 1-d parameters, biases, ``det_token`` and
``det_pos_embed``; the head's norms / biases and the relative-position tables are
decayed (issue 18, item 2)."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

import mmkd_ext  # noqa: F401
from mmkd_ext.engine.vidt_optim_constructor import reference_no_decay

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture(scope='module')
def nano_and_wrapper():
    from mmdet.registry import MODELS
    cfg = Config.fromfile(osp.join(REPO, 'configs/vidt/vidt_swin-nano_50e_coco.py'))
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(cfg.model)
        wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    return model, wrapper


def test_groups_follow_the_reference_rule(nano_and_wrapper):
    model, wrapper = nano_and_wrapper
    decay = {}
    for group in wrapper.optimizer.param_groups:
        for p in group['params']:
            decay[id(p)] = group['weight_decay']
    names = dict(model.named_parameters())
    assert len(decay) == len(names)
    for name, p in names.items():
        want = 0.0 if reference_no_decay(name, p) else 1e-4
        assert decay[id(p)] == pytest.approx(want), name
    # the differences to the old "no decay on every norm / bias / table" rule
    head_norm = [n for n in names if n.startswith('decoder.') and 'norm' in n]
    head_bias = [n for n in names if n.startswith('bbox_head.') and n.endswith('.bias')]
    tables = [n for n in names if n.endswith('relative_position_bias_table')]
    assert head_norm and head_bias and tables
    for n in head_norm + head_bias + tables:
        assert decay[id(names[n])] == pytest.approx(1e-4), n
    for n in ('backbone.det_token', 'backbone.det_pos_embed'):
        assert decay[id(names[n])] == 0.0, n
    bb_norm = [n for n in names if n.startswith('backbone.') and 'norm' in n]
    assert bb_norm and all(decay[id(names[n])] == 0.0 for n in bb_norm)


def test_frozen_parameters_skipped_and_bad_keys_named():
    from mmkd_ext.engine import ViDTOptimWrapperConstructor
    net = torch.nn.ModuleDict(
        dict(backbone=torch.nn.Linear(2, 2), head=torch.nn.LayerNorm(2)))
    net['head'].weight.requires_grad_(False)
    ctor = ViDTOptimWrapperConstructor(
        dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.1)))
    groups = ctor(net).optimizer.param_groups
    got = {(tuple(g['params'][0].shape), g['weight_decay']) for g in groups}
    assert got == {((2, 2), 0.1), ((2, ), 0.0), ((2, ), 0.1)}  # bb W, bb bias, head bias
    with pytest.raises(ValueError, match='paramwise_cfg'):
        ViDTOptimWrapperConstructor(
            dict(optimizer=dict(type='AdamW', lr=1e-3)), dict(norm_decay_mult=0.0))
