"""Stop training at the first non-finite loss, naming the loss terms.

NaN / inf features or logits that reach a loss (a diverging learning rate, fp16
overflow, a broken teacher checkpoint, corrupt input) make the loss non-finite; without
a check, MMEngine keeps training on NaN parameters and saves NaN checkpoints. This hook
raises ``FloatingPointError`` after the iteration that produced the first non-finite
loss value, naming every offending term (e.g. ``loss_vkd0``, ``loss_kl``), and runs
before ``CheckpointHook`` (priority ``ABOVE_NORMAL``) so that no checkpoint is written
from that iteration.

Cost: the values are read after MMEngine's ``RuntimeInfoHook`` has already copied them
to the host for logging (it calls ``.item()`` on each), so no extra device
synchronisation happens on the hot path. Add it with
``default_hooks.check_finite=dict(type='mmkd_ext.CheckFiniteLossHook')``.
"""
import math

import torch
from mmengine.hooks import Hook

from mmkd_ext.registry import HOOKS


def nonfinite_losses(outputs):
    """Names of the entries of ``outputs`` (a train step's log dict) that are
    non-finite numbers or tensors (any element)."""
    bad = []
    for name, value in (outputs or {}).items():
        if isinstance(value, torch.Tensor):
            finite = bool(torch.isfinite(value.detach()).all())
        elif isinstance(value, (int, float)):
            finite = math.isfinite(value)
        else:
            continue
        if not finite:
            bad.append(name)
    return bad


@HOOKS.register_module()
class CheckFiniteLossHook(Hook):
    """Raise ``FloatingPointError`` at the first non-finite training loss.

    Args:
        interval (int): check every ``interval`` iterations (1: every iteration).
    """
    priority = 'ABOVE_NORMAL'

    def __init__(self, interval: int = 1):
        if not isinstance(interval, int) or interval < 1:
            raise ValueError(f'CheckFiniteLossHook.interval must be an int >= 1, got '
                             f'{interval!r}')
        self.interval = interval

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if not self.every_n_train_iters(runner, self.interval):
            return
        bad = nonfinite_losses(outputs)
        if bad:
            values = {
                k:
                (float(v.detach().float().mean()) if isinstance(v, torch.Tensor) else v)
                for k, v in outputs.items() if k in bad
            }
            raise FloatingPointError(
                f'iteration {runner.iter + 1}: non-finite loss {values}; expected '
                'finite losses. NaN/inf features or logits reached these loss terms '
                '(diverging lr, fp16 overflow, a broken checkpoint or input); '
                'training stopped before saving a checkpoint of this iteration.')
