"""The two digits VKD configs train through tools/train.py; the orthogonal connector
moves away from its start while staying orthonormal."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

import mmkd_ext  # noqa: F401
from mmkd_ext.compat import safe_torch_load
from mmkd_ext.models.utils.orthogonal import orthogonality_error, polar_factor

RAW = 'configs/vkd/vkd_resnet18-w8_resnet18-w32_20e_digits.py'
DISTILLER = 'configs/vkd/vkd-distiller_resnet18-w8_resnet18-w32_20e_digits.py'
FAST = [
    'train_cfg.max_epochs=1', 'train_cfg.val_begin=2', 'param_scheduler.T_max=1',
    'train_dataloader.dataset.subset_ratio=0.1', 'train_dataloader.batch_size=16',
    'default_hooks.logger.interval=1',
]


@pytest.fixture(scope='module')
def teacher_ckpt(tmp_path_factory, repo_root):
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile(osp.join(repo_root, RAW))
    torch.manual_seed(0)
    teacher = MODELS.build(cfg.teacher_model)
    path = tmp_path_factory.mktemp('teacher') / 'teacher.pth'
    torch.save({'state_dict': teacher.state_dict()}, path)
    return str(path)


def _vkd_losses(records, key):
    return [r[key] for r in records if key in r]


@pytest.mark.parametrize('cfg,key,opt', [
    (RAW, 'distiller.connectors.vkd_proj.raw_weight',
     'model.distiller.connectors.vkd_proj.init=identity'),
    (DISTILLER, 'distiller.connectors.vkd0_s_conn.connectors.1.raw_weight',
     'model.distiller.feature_pairs.0.init=identity'),
])
def test_config_trains_and_connector_stays_orthogonal(cfg, key, opt, tmp_path,
                                                      teacher_ckpt, run_tool,
                                                      scalars):
    run_tool('tools/train.py', cfg, '--work-dir', tmp_path, '--cfg-options',
             f'model.teacher_ckpt={teacher_ckpt}', opt, *FAST)
    ckpt = safe_torch_load(tmp_path / 'epoch_1.pth', key_hint='test checkpoint')
    X = ckpt['state_dict'][key]
    assert X.shape == (256, 64)
    P = polar_factor(X)
    assert orthogonality_error(P) < 1e-5
    # started at [I; 0] (init='identity'): training moved it
    assert (P - torch.eye(256, 64)).abs().max() > 1e-3
    records = scalars(str(tmp_path))
    name = 'distill.loss_vkd' if cfg == RAW else 'distill.loss_vkd0'
    vkd = _vkd_losses(records, name)
    assert len(vkd) >= 5 and all(v == v for v in vkd)
    assert sum(vkd[-2:]) / 2 < sum(vkd[:2]) / 2  # the feature loss goes down
