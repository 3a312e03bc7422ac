"""CheckFiniteLossHook: a non-finite loss stops training at its iteration, naming the
terms, before a checkpoint of that iteration is written."""
import math

import torch
from mmengine.config import Config

import mmkd_ext  # noqa: F401
from mmkd_ext.engine.check_finite_loss_hook import nonfinite_losses


# -- bad inputs (docs/bad_inputs.md) ----------------------------------------------------
def test_b17_nonfinite_loss_stops_training(tmp_path, raises, digits_vkd_distiller_cfg):
    """NaN features reach the VKD / KD losses in a real run (NaN pixel mean): the
    CheckFiniteLossHook stops at iteration 1 naming the terms; no checkpoint written."""
    from mmengine.runner import Runner
    cfg = Config.fromfile(digits_vkd_distiller_cfg)
    cfg.work_dir = str(tmp_path)
    cfg.model.teacher_ckpt = None
    cfg.model.data_preprocessor.mean = [float('nan')] * 3
    cfg.default_hooks.check_finite = dict(type='mmkd_ext.CheckFiniteLossHook')
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1, by_epoch=False)
    cfg.train_dataloader.batch_size = 8
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.persistent_workers = False
    cfg.train_cfg = dict(by_epoch=True, max_epochs=1, val_interval=100)
    cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
    runner = Runner.from_cfg(cfg)
    raises(FloatingPointError, runner.train, 'iteration 1', 'loss_vkd0', 'loss_kl',
           'expected finite')
    assert not list(tmp_path.rglob('*.pth'))


def test_b17_check_finite_values():
    out = dict(
        loss=torch.tensor(float('inf')),
        loss_a=torch.tensor(1.0),
        loss_b=torch.tensor([1.0, float('nan')]),
        acc=2.0,
        loss_c=math.nan)
    assert nonfinite_losses(out) == ['loss', 'loss_b', 'loss_c']
    assert nonfinite_losses(dict(loss=torch.tensor(0.5))) == []
