"""NC1AlignLoss and NC2StructureLoss: registration, hand values, the bank they read,
clear errors, a short training in which every NC term falls."""
import pytest
import torch
import torch.nn.functional as F
from mmpretrain.registry import MODELS as CLS_MODELS
from mmrazor.registry import MODELS as RAZOR_MODELS

import mmkd_ext  # noqa: F401
from mmkd_ext.models.utils.prototype_bank import PrototypeBank


def test_losses_registered_and_no_dkd_clash():
    for name in ('NC1AlignLoss', 'NC2StructureLoss', 'PrototypeBank'):
        assert RAZOR_MODELS.get(name) is not None
    assert RAZOR_MODELS.get('NCKD') is None or 'NC1' not in str(RAZOR_MODELS.get('NCKD'))


def test_nc1_loss_module_uses_bank_and_checks(filled_bank):
    bank = filled_bank()
    loss = RAZOR_MODELS.build(dict(type='NC1AlignLoss', bank=bank, loss_weight=2.0))
    x = torch.randn(5, 6, requires_grad=True)
    y = torch.tensor([0, 1, 2, 3, 0])
    z = F.normalize(x - bank.global_mean, dim=1)
    ref = F.cross_entropy(z @ bank.prototypes.T / 0.1, y)
    out = loss(x, y)
    torch.testing.assert_close(out, 2 * ref)
    out.backward()
    assert torch.isfinite(x.grad).all()
    with pytest.raises(ValueError, match=r'\(N, 6\)'):
        loss(torch.randn(5, 4), y)
    with pytest.raises(TypeError, match='integer class indices'):
        loss(x, torch.rand(5, 4))
    with pytest.raises(RuntimeError, match='no teacher statistics'):
        RAZOR_MODELS.build(dict(type='NC1AlignLoss', bank=PrototypeBank(4, 6)))(x, y)


def test_nc2_loss_module_modes(filled_bank):
    y = torch.tensor([0, 0, 1, 2, 3])
    s, t = torch.randn(5, 6), torch.randn(5, 9)
    loss = RAZOR_MODELS.build(dict(type='NC2StructureLoss', loss_weight=3.0))
    assert loss(s, y, t).item() > 0
    with pytest.raises(ValueError, match='preds_T'):
        loss(s, y)
    bank = filled_bank()
    bank_loss = RAZOR_MODELS.build(
        dict(type='NC2StructureLoss', teacher_means='bank', bank=bank))
    assert bank_loss(bank.means[y] @ torch.eye(6).flip(0), y).item() < 1e-10
    with pytest.raises(ValueError, match="teacher_means='bank' needs"):
        RAZOR_MODELS.build(dict(type='NC2StructureLoss', teacher_means='bank'))


@pytest.fixture
def one_thread():
    """Tiny matrices: OpenMP threads only add spin-waits on a busy shared CPU."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def test_short_training_reduces_nc_losses(one_thread):
    """A small student on the digits pixels learns from a fixed teacher embedding
    through NC1 + NC2 + the NC3 head (online bank): every term falls."""
    from sklearn.datasets import load_digits
    digits = load_digits()
    x_all = torch.tensor(digits.data, dtype=torch.float32) / 16.0
    y_all = torch.tensor(digits.target)
    g = torch.Generator().manual_seed(0)
    teacher_emb = 3 * torch.randn(10, 32, generator=g)
    bank = PrototypeBank(10, 32, name='test_short_training')
    head = CLS_MODELS.build(
        dict(
            type='NC3Head',
            num_classes=10,
            in_channels=24,
            bank=bank,
            projector=dict(type='OrthogonalConnector', in_channels=24, out_channels=32)))
    nc1 = RAZOR_MODELS.build(dict(type='NC1AlignLoss', bank=bank))
    nc2 = RAZOR_MODELS.build(dict(type='NC2StructureLoss'))
    torch.manual_seed(0)
    body = torch.nn.Sequential(
        torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 24))
    opt = torch.optim.Adam(list(body.parameters()) + list(head.parameters()), lr=3e-3)
    history = []
    for step in range(120):
        idx = torch.randint(0, len(y_all), (128, ), generator=g)
        x, y = x_all[idx], y_all[idx]
        t = teacher_emb[y] + 0.5 * torch.randn(128, 32, generator=g)
        bank(t, y)
        proj = head.pre_logits((body(x), ))
        l3 = F.cross_entropy(head.fc(proj), y)
        l1, l2 = nc1(proj, y), nc2(proj, y, t)
        opt.zero_grad()
        (l1 + 5 * l2 + l3).backward()
        opt.step()
        history.append(torch.stack([l1, l2, l3]).detach())
    first, last = history[0], torch.stack(history[-10:]).mean(0)
    assert (last < 0.5 * first).all(), (first, last)
    with torch.no_grad():
        acc = (head((body(x_all), )).argmax(1) == y_all).float().mean()
    assert acc > 0.85


# bfloat16 CPU autocast, as `--amp` uses without CUDA (AutocastOptimWrapper)
def test_nc_losses_finite_and_close_under_autocast():
    torch.manual_seed(0)
    bank_cfg = dict(
        type='PrototypeBank',
        name='amp_test_bank',
        num_classes=10,
        feat_dim=32,
        mode='online')
    nc1 = RAZOR_MODELS.build(dict(type='NC1AlignLoss', bank=bank_cfg))
    nc2 = RAZOR_MODELS.build(dict(type='NC2StructureLoss', teacher_means='batch'))
    t = torch.randn(64, 32)
    labels = torch.arange(64) % 10
    nc1.bank.update(t, labels)
    s = torch.randn(64, 32, requires_grad=True)
    l1, l2 = nc1(s, labels), nc2(s, labels, t)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        s16 = s.bfloat16()
        m1, m2 = nc1(s16, labels), nc2(s16, labels, t.bfloat16())
    for ref, got in ((l1, m1), (l2, m2)):
        assert torch.isfinite(got)
        assert got.float().item() == pytest.approx(ref.item(), rel=3e-2, abs=3e-3)
    (m1 + m2).float().backward()
    assert torch.isfinite(s.grad).all() and s.grad.abs().sum() > 0


# -- bad inputs (docs/bad_inputs.md) ----------------------------------------------------
@pytest.mark.parametrize('name', ['nc1', 'nc2'])
def test_b18_empty_batch(name, raises, razor_build):
    """B18, the NC losses (VKDLoss: test_vkd_loss.py)."""
    if name == 'nc1':
        loss = razor_build(
            dict(type='NC1AlignLoss', bank=dict(num_classes=3, feat_dim=4, name=None)))

        def fn():
            return loss(torch.randn(0, 4), torch.zeros(0, dtype=torch.long))

        names = ['NC1AlignLoss', 'empty batch', 'at least one']
    else:
        loss = razor_build(dict(type='NC2StructureLoss'))

        def fn():
            return loss(
                torch.randn(0, 4), torch.zeros(0, dtype=torch.long), torch.randn(0, 6))

        names = ['NC2StructureLoss', 'empty batch', 'at least one']
    raises(ValueError, fn, *names)


def test_b19_one_class_batch_is_finite(razor_build):
    """Documented behaviour, not an error: NC2 on a one-class batch is 0 with finite
    gradients; NC1 stays finite."""
    nc2 = razor_build(dict(type='NC2StructureLoss'))
    s = torch.randn(5, 4, requires_grad=True)
    labels = torch.full((5, ), 2)
    out = nc2(s, labels, torch.randn(5, 6))
    out.backward()
    assert out.item() == 0 and torch.isfinite(s.grad).all()
    bank = dict(num_classes=3, feat_dim=4, name=None)
    nc1 = razor_build(dict(type='NC1AlignLoss', bank=bank))
    nc1.bank.update(torch.randn(5, 4), labels)
    s = torch.randn(5, 4, requires_grad=True)
    out = nc1(s, labels)
    out.backward()
    assert torch.isfinite(out) and torch.isfinite(s.grad).all()


@pytest.mark.parametrize(
    'labels',
    [None, [0, 1, 2, 1], torch.rand(4, 3),
     torch.tensor([0, 1])])
def test_b20_nc_loss_without_valid_labels(labels, raises, razor_build):
    loss = razor_build(dict(type='NC2StructureLoss'))
    exc = ValueError if isinstance(labels, torch.Tensor) and \
        not labels.is_floating_point() else TypeError
    raises(exc, lambda: loss(torch.randn(4, 4), labels, torch.randn(4, 6)),
           'NC2StructureLoss labels', 'expected')


@pytest.mark.parametrize('bad', [3, -1])
def test_b21_labels_out_of_range(bad, raises, razor_build):
    bank = dict(num_classes=3, feat_dim=4, name=None)
    nc1 = razor_build(dict(type='NC1AlignLoss', bank=bank))
    labels = torch.tensor([0, 1, 2, bad])
    raises(ValueError, lambda: nc1.bank(torch.randn(4, 4), labels), 'must lie in [0, 3)',
           'bank.num_classes')
    nc1.bank.update(torch.randn(3, 4), torch.tensor([0, 1, 2]))
    raises(ValueError, lambda: nc1(torch.randn(4, 4), labels), 'NC1AlignLoss labels',
           '[0, 3)', 'bank.num_classes')


def test_b22_nc_loss_before_bank_filled(raises, razor_build):
    nc1 = razor_build(
        dict(type='NC1AlignLoss', bank=dict(num_classes=3, feat_dim=4, name=None)))
    raises(RuntimeError, lambda: nc1(torch.randn(4, 4), torch.tensor([0, 1, 2, 0])),
           'NC1AlignLoss', 'holds no teacher statistics', 'distill_losses')
