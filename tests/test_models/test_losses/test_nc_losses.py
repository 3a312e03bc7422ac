"""NC1AlignLoss, NC2StructureLoss, NC3Head, NeuralCollapseMetric + NCFeatureHook."""
import pytest
import torch
import torch.nn.functional as F
from mmpretrain.registry import METRICS
from mmpretrain.registry import MODELS as CLS_MODELS
from mmpretrain.structures import DataSample
from mmrazor.registry import MODELS as RAZOR_MODELS

import mmkd_ext  # noqa: F401
from mmkd_ext.models.utils.prototype_bank import PrototypeBank


def filled_bank(name=None, c=4, d=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    bank = PrototypeBank(c, d, name=name)
    y = torch.arange(c).repeat(3)
    bank(torch.randn(3 * c, d, generator=g) + 3 * torch.randn(c, d, generator=g)[y], y)
    return bank


def test_losses_registered_and_no_dkd_clash():
    for name in ('NC1AlignLoss', 'NC2StructureLoss', 'PrototypeBank'):
        assert RAZOR_MODELS.get(name) is not None
    assert RAZOR_MODELS.get('NCKD') is None or 'NC1' not in str(RAZOR_MODELS.get('NCKD'))


def test_nc1_loss_module_uses_bank_and_checks():
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


def test_nc2_loss_module_modes():
    y = torch.tensor([0, 0, 1, 2, 3])
    s, t = torch.randn(5, 6), torch.randn(5, 9)
    loss = RAZOR_MODELS.build(dict(type='NC2StructureLoss', loss_weight=3.0))
    assert loss(s, y, t).item() > 0
    with pytest.raises(ValueError, match='preds_T'):
        loss(s, y)
    bank = filled_bank()
    bank_loss = RAZOR_MODELS.build(dict(type='NC2StructureLoss', teacher_means='bank',
                                        bank=bank))
    assert bank_loss(bank.means[y] @ torch.eye(6).flip(0), y).item() < 1e-10
    with pytest.raises(ValueError, match="teacher_means='bank' needs"):
        RAZOR_MODELS.build(dict(type='NC2StructureLoss', teacher_means='bank'))


def test_nc3_head_bank_hand_logit_and_no_class_weight_params():
    bank = filled_bank(d=6)
    head = CLS_MODELS.build(dict(type='NC3Head', num_classes=4, in_channels=6,
                                 bank=bank, scale=10.0))
    assert [n for n, p in head.named_parameters()] == []
    x = torch.randn(3, 6)
    logits = head((x, ))
    m = bank.means - bank.means.mean(0)
    m = m / m.norm(dim=1, keepdim=True)
    hand = 10.0 * (x / x.norm(dim=1, keepdim=True)) @ m.T
    torch.testing.assert_close(logits, hand)
    assert logits[0, 1].item() == pytest.approx(
        10.0 * F.cosine_similarity(x[0], m[1], dim=0).item(), rel=1e-5)
    samples = [DataSample().set_gt_label(k) for k in (0, 1, 2)]
    losses = head.loss((x, ), samples)
    torch.testing.assert_close(losses['loss'], F.cross_entropy(hand, torch.tensor([0, 1, 2])))


def test_nc3_head_etf_projector_and_learned_scale():
    head = CLS_MODELS.build(dict(
        type='NC3Head', num_classes=5, in_channels=3, feat_dim=8, learnable_scale=True,
        projector=dict(type='OrthogonalConnector', in_channels=3, out_channels=8)))
    w = head.fc.weight
    gram = w @ w.T
    torch.testing.assert_close(torch.diagonal(gram), torch.ones(5))
    torch.testing.assert_close(gram[0, 1], torch.tensor(-0.25), atol=1e-6, rtol=0)
    names = [n for n, _ in head.named_parameters()]
    assert 'fc.scale' in names and not any('etf' in n or 'bank' in n for n in names)
    assert 'fc.etf' in head.state_dict()
    x = torch.randn(4, 3)
    logits = head((x, ))
    proj = head.projector(x)
    torch.testing.assert_close(proj.norm(dim=1), x.norm(dim=1))  # orthogonal g
    torch.testing.assert_close(
        logits, head.fc.scale * torch.nn.functional.normalize(proj, dim=1) @ w.T)
    logits.sum().backward()
    assert head.fc.scale.grad is not None
    with pytest.raises(ValueError, match='projector=dict'):
        CLS_MODELS.build(dict(type='NC3Head', num_classes=4, in_channels=64,
                              bank=filled_bank(d=6)))


def test_metric_and_hook_on_plain_classifier():
    from mmkd_ext.engine import NCFeatureHook
    from mmengine.evaluator import Evaluator
    model = CLS_MODELS.build(dict(
        type='ImageClassifier',
        backbone=dict(type='ResNet_CIFAR', depth=18, stem_channels=8, base_channels=8,
                      out_indices=(3, )),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=3, in_channels=64))).eval()
    evaluator = Evaluator([dict(type='mmpretrain.Accuracy'),
                           dict(type='mmpretrain.NeuralCollapseMetric')])

    class FakeRunner:  # the two attributes the hook reads
        pass

    runner = FakeRunner()
    runner.model = model
    hook = NCFeatureHook()
    hook.before_val_epoch(runner)
    torch.manual_seed(0)
    imgs = torch.randn(9, 3, 16, 16)
    samples = [DataSample().set_gt_label(k % 3) for k in range(9)]
    with torch.no_grad():
        feats = model.extract_feat(imgs)[-1]
        out = model(imgs, samples, mode='predict')
    evaluator.process(out)
    metrics = evaluator.evaluate(9)
    hook.after_val_epoch(runner)
    assert not hook._handles
    from mmkd_ext.models.utils.neural_collapse import nc_metrics
    ref = nc_metrics(feats, torch.arange(9) % 3, model.head.fc.weight)
    for key, value in ref.items():
        assert metrics[f'nc/{key}'] == pytest.approx(value, rel=1e-4), key
    assert 'accuracy/top1' in metrics
    with torch.no_grad():  # hooks are gone: no features attached
        fresh = [DataSample().set_gt_label(k % 3) for k in range(9)]
        assert 'nc_feat' not in model(imgs, fresh, mode='predict')[0]
    metric = METRICS.build(dict(type='NeuralCollapseMetric'))
    with pytest.raises(KeyError, match='NCFeatureHook'):
        metric.process(None, [DataSample().set_gt_label(0).to_dict()])


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
    head = CLS_MODELS.build(dict(
        type='NC3Head', num_classes=10, in_channels=24, bank=bank,
        projector=dict(type='OrthogonalConnector', in_channels=24, out_channels=32)))
    nc1 = RAZOR_MODELS.build(dict(type='NC1AlignLoss', bank=bank))
    nc2 = RAZOR_MODELS.build(dict(type='NC2StructureLoss'))
    torch.manual_seed(0)
    body = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(),
                               torch.nn.Linear(64, 24))
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
