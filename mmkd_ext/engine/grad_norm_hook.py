"""Log, over the first iterations, the gradient norm of module groups and the ratio of
the distillation loss to the task losses.

The diagnostic of the detection pilot (docs/studies.md, section "Detection", "The next
setting"): does a distillation term dominate the detection loss from the first step,
and which modules does its gradient reach? For each of the first ``num_iters``
training iterations it writes to the runner's visualizer (``vis_data/scalars.json``,
one record per iteration, ``step`` = iteration, 1-based):

* ``grad_norm_<name>``: the L2 norm of the gradient of every trainable parameter whose
  name starts with the prefix (``<name>`` = the prefix's last dotted part, e.g.
  ``architecture.backbone`` -> ``grad_norm_backbone``), and ``grad_norm_all`` over all
  trainable parameters;
* ``task_sum``: the sum of the logged losses whose last dotted part starts with one of
  ``task_keys`` (ViDT: ``loss_cls``, ``loss_bbox``, ``loss_iou`` of the last and of
  every auxiliary decoder layer, e.g. ``student.d0.loss_cls``);
* ``distill_sum`` and ``distill_task_ratio`` (= ``distill_sum / task_sum``), when a
  logged loss starts with one of ``distill_keys`` (``loss_tm``; a model without
  distillation logs ``task_sum`` only). The losses are the logged, weighted values.

When the norms are taken: the gradient the optimizer would use, after ``backward`` and
before gradient clipping and the optimizer step. MMEngine's ``OptimWrapper`` runs
``backward``, then ``step`` (which clips first: ViDT's recipe clips at 0.1) and
``zero_grad`` inside ``train_step``, so ``.grad`` is already cleared in
``after_train_iter``, and an optimizer step pre-hook would see clipped gradients. The
hook therefore registers a ``register_post_accumulate_grad_hook`` on every trainable
parameter (``before_train``), which stores ``||p.grad||^2`` each time ``backward``
has accumulated into ``p.grad`` (with gradient accumulation: the accumulated value
after the last ``backward`` of the iteration), and removes them after ``num_iters``
iterations. Cost: one norm per parameter per iteration, first ``num_iters`` only.

Add it with ``default_hooks.grad_norm=dict(type='mmkd_ext.GradNormHook')``
(``tools/benchmark/digits_det.py --pilot`` does).
"""
import math
from typing import Sequence

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmkd_ext.registry import HOOKS


def loss_sums(outputs, task_keys, distill_keys):
    """``(task_sum, distill_sum or None)`` of a train step's log dict: the losses whose
    last dotted part starts with one of ``task_keys`` / ``distill_keys``."""
    task, distill = 0.0, None
    found_task = False
    for name, value in (outputs or {}).items():
        leaf = name.split('.')[-1]
        value = float(value.detach().float().sum()) if isinstance(
            value, torch.Tensor) else float(value)
        if leaf.startswith(tuple(distill_keys)):
            distill = (distill or 0.0) + value
        elif leaf.startswith(tuple(task_keys)):
            task, found_task = task + value, True
    return (task if found_task else None), distill


@HOOKS.register_module()
class GradNormHook(Hook):
    """Gradient norms per module group and the distillation / task loss ratio over
    the first ``num_iters`` iterations (see the module docstring).

    Args:
        num_iters (int): iterations logged (from the first). Defaults to 100.
        prefixes (seq of str): parameter-name prefixes of the groups (names as in
            ``model.named_parameters()``; the ViDT student of an MMRazor distiller
            is ``architecture``, a ViDT trained alone has ``backbone`` ...). Their last
            dotted parts must differ (they name the scalars).
        task_keys (seq of str): starts of the task (detection) loss names.
        distill_keys (seq of str): starts of the distillation loss names.
    """
    priority = 'NORMAL'

    def __init__(self,
                 num_iters: int = 100,
                 prefixes: Sequence[str] = ('architecture.backbone', 'architecture.neck',
                                            'architecture.decoder'),
                 task_keys: Sequence[str] = ('loss_cls', 'loss_bbox', 'loss_iou'),
                 distill_keys: Sequence[str] = ('loss_tm', )):
        if not isinstance(num_iters, int) or num_iters < 1:
            raise ValueError(f'GradNormHook.num_iters must be an int >= 1, got '
                             f'{num_iters!r}')
        for key, value in (('prefixes', prefixes), ('task_keys', task_keys),
                           ('distill_keys', distill_keys)):
            strings = not isinstance(value, str) and bool(value)
            if not (strings and all(isinstance(v, str) and v for v in value)):
                raise ValueError(f'GradNormHook.{key} must be a non-empty list of '
                                 f'non-empty strings, got {value!r}')
        names = [p.split('.')[-1] for p in prefixes]
        if len(set(names)) != len(names):
            raise ValueError(f'GradNormHook.prefixes {list(prefixes)}: their last dotted '
                             f'parts {names} name the scalars and must differ')
        self.num_iters = num_iters
        self.prefixes, self.names = tuple(prefixes), names
        self.task_keys, self.distill_keys = tuple(task_keys), tuple(distill_keys)
        self._handles, self._sq, self._groups = [], {}, {}

    def before_train(self, runner) -> None:
        if runner.iter >= self.num_iters:  # resumed past the logged iterations
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        self._groups = {}
        for prefix, name in zip(self.prefixes, self.names):
            members = [n for n, _ in params if n == prefix or n.startswith(prefix + '.')]
            if not members:
                tops = sorted({'.'.join(n.split('.')[:2]) for n, _ in params})
                raise ValueError(
                    f'GradNormHook.prefixes: no trainable parameter of '
                    f'{type(model).__name__} starts with {prefix!r}; expected a '
                    f'module path such as {tops[:8]}')
            self._groups[name] = members
        for n, p in params:
            self._handles.append(p.register_post_accumulate_grad_hook(self._store(n)))

    def _store(self, name):

        def hook(param):
            if param.grad is not None:
                self._sq[name] = param.grad.detach().float().pow(2).sum()

        return hook

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        self._sq = {}

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if not self._handles:
            return
        sq = {n: float(v) for n, v in self._sq.items()}
        scalars = {
            f'grad_norm_{name}': math.sqrt(sum(sq.get(n, 0.0) for n in members))
            for name, members in self._groups.items()
        }
        scalars['grad_norm_all'] = math.sqrt(sum(sq.values()))
        task, distill = loss_sums(outputs, self.task_keys, self.distill_keys)
        if task is None:
            raise ValueError(f'GradNormHook.task_keys {list(self.task_keys)}: no logged '
                             f'loss matches; the logged losses are '
                             f'{sorted((outputs or {}).keys())}')
        scalars['task_sum'] = task
        if distill is not None:
            scalars['distill_sum'] = distill
            scalars['distill_task_ratio'] = distill / task if task else math.inf
        runner.visualizer.add_scalars(scalars, step=runner.iter + 1)
        if runner.iter + 1 >= self.num_iters:
            self._remove()

    def after_train(self, runner) -> None:
        self._remove()

    def _remove(self):
        for h in self._handles:
            h.remove()
        self._handles, self._sq = [], {}
