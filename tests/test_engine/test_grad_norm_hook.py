"""GradNormHook: the logged gradient norms per module group are the gradients of
``backward`` before clipping and the optimizer step (checked against a hand
computation over two iterations of a tiny model trained by MMEngine's Runner with a
clip far below them), and the distillation / task loss ratio is the logged one."""
import math

import pytest
import torch
import torch.nn as nn
from mmengine.model import BaseModel

import mmkd_ext  # noqa: F401
from mmkd_ext.engine.grad_norm_hook import GradNormHook, loss_sums

W1 = torch.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]])
W2 = torch.tensor([[1.0, 2.0], [-1.0, 0.5]])
W3 = torch.tensor([[0.75, -1.25]])
X = torch.tensor([[1., 2., 3.], [0., -1., 1.], [2., 0., -1.], [1., 1., 1.]])
LR, MAX_NORM = 0.1, 1e-3


class TinyDistill(BaseModel):
    """A 3-linear-layer 'student' under ``architecture`` (backbone, neck, decoder),
    a frozen 'teacher'; loss_cls = sum(out^2), loss_tm = sum(W1^2)."""

    def __init__(self):
        super().__init__()
        self.architecture = nn.Module()
        self.architecture.backbone = nn.Linear(3, 2, bias=False)
        self.architecture.neck = nn.Linear(2, 2, bias=False)
        self.architecture.decoder = nn.Linear(2, 1, bias=False)
        self.teacher = nn.Linear(3, 2, bias=False).requires_grad_(False)
        with torch.no_grad():
            for layer, w in zip((self.architecture.backbone, self.architecture.neck,
                                 self.architecture.decoder), (W1, W2, W3)):
                layer.weight.copy_(w)

    def forward(self, inputs, data_samples=None, mode='loss'):
        a = self.architecture
        out = a.decoder(a.neck(a.backbone(inputs)))
        return dict(loss_cls=(out**2).sum(), loss_tm=(a.backbone.weight**2).sum())


def hand(w1, w2, w3, x):
    """Gradients of loss_cls + loss_tm by the chain rule, and the two losses."""
    h1 = x @ w1.T
    h2 = h1 @ w2.T
    out = h2 @ w3.T
    g = 2 * out
    g3 = g.T @ h2
    gh2 = g @ w3
    g2 = gh2.T @ h1
    g1 = (gh2 @ w2).T @ x + 2 * w1
    return (g1, g2, g3), float((out**2).sum()), float((w1**2).sum())


def tiny_runner(tmp_path, name, hook, max_iters, clip_grad=None):
    """An MMEngine runner training ``TinyDistill`` on ``X`` (batches of 2, in order)
    with plain SGD (clipped by ``clip_grad`` if given) and ``hook`` as
    ``default_hooks.grad_norm``."""
    from mmengine.runner import Runner
    return Runner(
        model=TinyDistill(),
        work_dir=str(tmp_path),
        experiment_name=name,
        train_dataloader=dict(
            dataset=[dict(inputs=x) for x in X],
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate'),
            batch_size=2,
            num_workers=0),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=LR), clip_grad=clip_grad),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(grad_norm=hook, checkpoint=None))


def test_grad_norms_are_pre_clip_gradients(tmp_path, scalars):
    runner = tiny_runner(
        tmp_path,
        'grad_norm_hook_test',
        dict(type='mmkd_ext.GradNormHook', num_iters=2),
        max_iters=3,
        clip_grad=dict(max_norm=MAX_NORM))
    runner.train()
    records = [r for r in scalars(tmp_path) if 'grad_norm_all' in r]
    assert [r['step'] for r in records] == [1, 2]  # the first num_iters only
    ws = [W1.clone(), W2.clone(), W3.clone()]
    for it, rec in enumerate(records):
        grads, cls, tm = hand(*ws, X[2 * it:2 * it + 2])
        norms = [float(g.norm()) for g in grads]
        for name, norm in zip(('backbone', 'neck', 'decoder'), norms):
            assert rec[f'grad_norm_{name}'] == pytest.approx(norm, rel=1e-5)
        total = math.sqrt(sum(n**2 for n in norms))
        assert rec['grad_norm_all'] == pytest.approx(total, rel=1e-5)
        assert total > 100 * MAX_NORM  # so these are not the clipped gradients
        assert rec['task_sum'] == pytest.approx(cls, rel=1e-5)
        assert rec['distill_sum'] == pytest.approx(tm, rel=1e-5)
        assert rec['distill_task_ratio'] == pytest.approx(tm / cls, rel=1e-5)
        coef = MAX_NORM / (total + 1e-6)  # torch's clip_grad_norm_, then SGD
        ws = [w - LR * coef * g for w, g in zip(ws, grads)]
    # the hook's gradient hooks are gone after num_iters
    hook = [h for h in runner.hooks if isinstance(h, GradNormHook)][0]
    assert hook._handles == []


def test_loss_sums_match_nested_names():
    out = {
        'student.loss_cls': torch.tensor(1.0),
        'student.d0.loss_cls': torch.tensor(0.5),
        'student.d0.loss_bbox': torch.tensor(0.25),
        'student.loss_iou': 0.25,
        'distill.loss_tm': torch.tensor(4.0),
        'loss': torch.tensor(6.0),
        'student.acc': torch.tensor(50.0)
    }
    assert loss_sums(out, ('loss_cls', 'loss_bbox', 'loss_iou'),
                     ('loss_tm', )) == (2.0, 4.0)
    assert loss_sums({'loss_cls': 1.0}, ('loss_cls', ), ('loss_tm', )) == (1.0, None)


def test_bad_arguments_name_the_key(raises):
    raises(ValueError, lambda: GradNormHook(num_iters=0), 'GradNormHook.num_iters')
    raises(ValueError, lambda: GradNormHook(prefixes='backbone'), 'GradNormHook.prefixes')
    raises(ValueError, lambda: GradNormHook(prefixes=('a.neck', 'b.neck')),
           'GradNormHook.prefixes', 'must differ')


def test_unknown_prefix_names_the_modules(tmp_path, raises):
    runner = tiny_runner(
        tmp_path,
        'grad_norm_hook_bad_prefix',
        dict(type='mmkd_ext.GradNormHook', prefixes=('backbone', )),
        max_iters=1)
    raises(ValueError, runner.train, 'GradNormHook.prefixes', "'backbone'",
           'architecture.backbone')
