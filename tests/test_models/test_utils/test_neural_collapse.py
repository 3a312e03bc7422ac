"""Neural-collapse maths: ETF, metrics vs a direct numpy computation, NC1 / NC2 losses."""
import numpy as np
import pytest
import torch

from mmkd_ext.models.utils.neural_collapse import (class_means, nc1_align_loss,
                                                   nc2_structure_loss, nc_metrics,
                                                   per_sample_class_means, simplex_etf)


def numpy_nc_metrics(x, y, w):
    """The design note's formulas, written directly (loops, d x d matrices)."""
    classes = np.unique(y)
    c = len(classes)
    mu = np.stack([x[y == k].mean(0) for k in classes])
    mg = mu.mean(0)
    m = mu - mg
    sw = sum(np.outer(x[i] - mu[y[i]], x[i] - mu[y[i]]) for i in range(len(x))) / len(x)
    sb = m.T @ m / c
    norms = np.linalg.norm(m, axis=1)
    cos = np.array([[m[a] @ m[b] / norms[a] / norms[b] for b in range(c)]
                    for a in range(c)])
    off = cos[~np.eye(c, dtype=bool)]
    wm = w @ m.T
    target = (np.eye(c) - np.ones((c, c)) / c) / np.sqrt(c - 1)
    return dict(
        nc1=np.trace(sw @ np.linalg.pinv(sb)) / c,
        nc2_equinorm=norms.std(ddof=1) / norms.mean(),
        nc2_equiangular=off.std(ddof=1),
        nc2_maxangle=np.abs(off + 1 / (c - 1)).mean(),
        nc2_etf_error=np.linalg.norm(wm / np.linalg.norm(wm) - target),
        nc3_self_duality=np.sum((w / np.linalg.norm(w) - m / np.linalg.norm(m))**2),
        nc3_mean_cosine=np.mean(
            [w[k] @ m[k] / np.linalg.norm(w[k]) / norms[k] for k in range(c)]))


@pytest.mark.parametrize('c,d', [(5, 8), (10, 9), (4, 3)])
def test_simplex_etf(c, d):
    e = simplex_etf(c, d, torch.Generator().manual_seed(1)).double()
    assert e.shape == (c, d)
    expected = torch.full((c, c), -1.0 / (c - 1), dtype=torch.float64)
    expected.fill_diagonal_(1.0)
    torch.testing.assert_close(e @ e.T, expected, atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match='dim >= 9'):
        simplex_etf(10, 8)


def test_class_means_match_loop():
    torch.manual_seed(0)
    x, y = torch.randn(30, 6), torch.randint(0, 7, (30, ))
    means, counts = class_means(x, y, 7)
    for k in range(7):
        assert counts[k] == (y == k).sum()
        if counts[k]:
            torch.testing.assert_close(means[k], x[y == k].mean(0))
    per_sample, n = per_sample_class_means(x, y)
    torch.testing.assert_close(per_sample, means[y])
    torch.testing.assert_close(n, counts[y])


def test_metrics_collapsed_vs_random():
    c, d = 6, 12
    etf = simplex_etf(c, d, torch.Generator().manual_seed(0))
    y = torch.arange(c).repeat_interleave(5)
    collapsed = nc_metrics(3.0 * etf[y] + 0.7, y, weight=2.0 * etf)
    for key in ('nc1', 'nc2_etf_error', 'nc3_self_duality', 'nc2_equinorm',
                'nc2_equiangular', 'nc2_maxangle'):
        assert collapsed[key] < 1e-5, (key, collapsed[key])
    assert collapsed['nc3_mean_cosine'] > 1 - 1e-6
    torch.manual_seed(0)
    rand = nc_metrics(torch.randn(30, d), y, weight=torch.randn(c, d))
    assert rand['nc1'] > 0.5
    assert rand['nc2_etf_error'] > 0.5
    assert rand['nc3_self_duality'] > 0.5
    assert rand['nc3_mean_cosine'] < 0.7


def test_metrics_match_numpy():
    rng = np.random.default_rng(0)
    c, d = 4, 7
    y = np.repeat(np.arange(c), 6)
    x = rng.normal(size=(24, d)) + 2 * rng.normal(size=(c, d))[y]
    w = rng.normal(size=(c, d))
    got = nc_metrics(torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(w))
    ref = numpy_nc_metrics(x, y, w)
    assert set(got) == set(ref)
    for key, value in ref.items():
        assert got[key] == pytest.approx(value, rel=1e-8, abs=1e-10), key


def test_metrics_bad_input():
    with pytest.raises(ValueError, match='at least 2 classes'):
        nc_metrics(torch.randn(5, 3), torch.zeros(5, dtype=torch.long))
    with pytest.raises(ValueError, match='classifier weight'):
        nc_metrics(torch.randn(6, 3), torch.arange(6) % 2, torch.randn(2, 4))


@pytest.mark.parametrize('mode', ['contrastive', 'cosine'])
def test_nc1_gradient_step_moves_toward_prototype(mode):
    torch.manual_seed(0)
    c, d = 5, 16
    protos = simplex_etf(c, d)
    y = torch.randint(0, c, (40, ))
    feats = torch.randn(40, d, requires_grad=True)
    loss = nc1_align_loss(feats, y, protos, None, mode, temperature=0.1)
    loss.backward()
    cos_before = torch.nn.functional.cosine_similarity(feats, protos[y]).detach()
    with torch.no_grad():
        stepped = feats - 0.5 * feats.grad * 40
    cos_after = torch.nn.functional.cosine_similarity(stepped, protos[y])
    assert (cos_after > cos_before).float().mean() > 0.9
    assert cos_after.mean() > cos_before.mean() + 0.02
    loss_after = nc1_align_loss(stepped, y, protos, None, mode, 0.1)
    assert loss_after < loss


def test_nc1_hand_values():
    protos = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    feats = torch.tensor([[2.0, 0.0], [1.0, 1.0]])
    y = torch.tensor([0, 1])
    cos = nc1_align_loss(feats, y, protos, None, 'cosine')
    assert cos.item() == pytest.approx((0 + (1 - 2**-0.5)) / 2)
    ctr = nc1_align_loss(feats, y, protos, None, 'contrastive', temperature=0.5)
    l0 = -torch.log_softmax(torch.tensor([2.0, 0.0]), 0)[0]
    l1 = -torch.log_softmax(torch.tensor([2**-0.5, 2**-0.5]) / 0.5, 0)[1]
    assert ctr.item() == pytest.approx(((l0 + l1) / 2).item(), rel=1e-6)
    # centring by the teacher global mean changes z
    shifted = nc1_align_loss(feats + 5, y, protos, torch.full((2, ), 5.0), 'cosine')
    assert shifted.item() == pytest.approx(cos.item(), rel=1e-6)


def test_nc2_zero_under_orthogonal_map_positive_otherwise():
    torch.manual_seed(0)
    y = torch.randint(0, 6, (48, ))
    t = torch.randn(48, 10) + 3 * torch.randn(6, 10)[y]
    q, _ = torch.linalg.qr(torch.randn(16, 10))  # isometry R^10 -> R^16
    s = (t @ q.T).requires_grad_()
    assert nc2_structure_loss(s, y, feats_t=t).item() < 1e-10
    other = (torch.randn(48, 16) + 3 * torch.randn(6, 16)[y]).requires_grad_()
    loss = nc2_structure_loss(other, y, feats_t=t)
    assert loss.item() > 1e-2
    loss.backward()
    assert torch.isfinite(other.grad).all() and other.grad.abs().sum() > 0


def test_nc2_matches_per_class_computation():
    torch.manual_seed(1)
    y = torch.tensor([0, 0, 2, 2, 2, 5, 7, 7])
    s, t = torch.randn(8, 4), torch.randn(8, 3)
    present = torch.unique(y)
    ms = torch.stack([s[y == k].mean(0) for k in present])
    mt = torch.stack([t[y == k].mean(0) for k in present])
    ms = torch.nn.functional.normalize(ms - ms.mean(0), dim=1)
    mt = torch.nn.functional.normalize(mt - mt.mean(0), dim=1)
    ref = ((ms @ ms.T - mt @ mt.T)**2).sum() / len(present)**2
    torch.testing.assert_close(nc2_structure_loss(s, y, feats_t=t), ref)
    bank = torch.randn(8, 3)
    mtb = torch.nn.functional.normalize(bank[present] - bank[present].mean(0), dim=1)
    ref_b = ((ms @ ms.T - mtb @ mtb.T)**2).sum() / len(present)**2
    torch.testing.assert_close(nc2_structure_loss(s, y, teacher_means=bank), ref_b)


def test_nc2_one_class_is_zero_with_finite_grad():
    s = torch.randn(6, 5, requires_grad=True)
    y = torch.full((6, ), 3)
    loss = nc2_structure_loss(s, y, feats_t=torch.randn(6, 4))
    assert loss.item() == 0.0 and loss.requires_grad
    loss.backward()
    assert torch.isfinite(s.grad).all()
