"""The two digits VKD configs train through tools/train.py; the orthogonal connector
built from the shipped config and loaded from the trained checkpoint moves away from
its start while its own P stays orthonormal."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

import mmkd_ext  # noqa: F401
from mmkd_ext.models.connectors import OrthogonalConnector
from mmkd_ext.models.utils.checkpoint import safe_torch_load
from mmkd_ext.models.utils.orthogonal import orthogonality_error

RAW = 'configs/vkd/vkd_resnet18-w8_resnet18-w32_20e_digits.py'
FAST = [
    'train_cfg.max_epochs=1',
    'train_cfg.val_begin=2',
    'param_scheduler.T_max=1',
    'train_dataloader.dataset.subset_ratio=0.1',
    'train_dataloader.batch_size=16',
    'default_hooks.logger.interval=1',
]


@pytest.fixture(scope='module')
def teacher_ckpt(digits_teacher_files):
    """A saved random digits teacher."""
    return digits_teacher_files['good']


def _vkd_losses(records, key):
    return [r[key] for r in records if key in r]


def _trained_connector(repo_root, cfg_path, options, ckpt_path):
    """Build the algorithm from the shipped config (+ the run's options), load the
    trained checkpoint strictly, and return its one OrthogonalConnector."""
    from mmengine.registry import DefaultScope
    from mmrazor.registry import MODELS
    cfg = Config.fromfile(osp.join(repo_root, cfg_path))
    cfg.merge_from_dict(options)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmrazor')):
        model = MODELS.build(cfg.model)  # (no default scope leaks to later tests)
    state = safe_torch_load(ckpt_path, key_hint='test checkpoint')['state_dict']
    model.load_state_dict(state, strict=True)
    conns = [
        m for m in model.distiller.connectors.modules()
        if isinstance(m, OrthogonalConnector)
    ]
    assert len(conns) == 1
    return conns[0]


@pytest.mark.parametrize('style,key', [
    ('shipped', 'model.distiller.connectors.vkd_s.init'),
    ('VKDDistiller', 'model.distiller.feature_pairs.0.init'),
])
def test_config_trains_and_connector_stays_orthogonal(style, key, tmp_path, teacher_ckpt,
                                                      run_tool, scalars, repo_root,
                                                      digits_vkd_distiller_cfg):
    """The shipped config and its VKDDistiller form (docs/vkd.md)."""
    cfg = RAW if style == 'shipped' else digits_vkd_distiller_cfg
    run_tool('tools/train.py', cfg, '--work-dir', tmp_path, '--cfg-options',
             f'model.teacher_ckpt={teacher_ckpt}', f'{key}=identity', *FAST)
    conn = _trained_connector(repo_root, cfg, {
        'model.teacher_ckpt': teacher_ckpt,
        key: 'identity'
    }, tmp_path / 'epoch_1.pth')
    # the shipped map (VKDDistiller's default equals the connector's)
    assert conn.parametrization == 'cholesky_qr'
    assert (conn.in_channels, conn.out_channels) == (64, 256)
    P = conn.weight.detach()
    assert P.shape == (256, 64)
    assert orthogonality_error(P) < 1e-5
    assert P.square().sum().item() == pytest.approx(64, rel=1e-5)
    # started at [I; 0] (init='identity'): training moved it
    assert (P - torch.eye(256, 64)).abs().max() > 1e-3
    records = scalars(str(tmp_path))
    name = 'distill.loss_vkd' if cfg == RAW else 'distill.loss_vkd0'
    vkd = _vkd_losses(records, name)
    assert len(vkd) >= 5 and all(v == v for v in vkd)
    assert sum(vkd[-2:]) / 2 < sum(vkd[:2]) / 2  # the feature loss goes down
