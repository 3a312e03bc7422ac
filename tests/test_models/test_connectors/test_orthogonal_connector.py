"""VKD connectors: orthogonal projector, normalisers, pooling, chains, baselines."""
import pytest
import torch
import torch.nn.functional as F
from mmrazor.registry import MODELS

import mmkd_ext  # noqa: F401
from mmkd_ext.models.connectors import (FeatureStandardizer, FeatureWhitener,
                                        GlobalAvgPoolConnector, LinearConnector,
                                        MLPConnector, OrthogonalConnector,
                                        ProjectorEnsembleConnector, SequentialConnector,
                                        TokenMeanPoolConnector)
from mmkd_ext.models.connectors.orthogonal_connector import PARAMETRIZATIONS
from mmkd_ext.models.utils.orthogonal import orthogonality_error, random_orthonormal

SHAPES = [(12, 40), (16, 16), (40, 12)]  # (d_s, d_t): thin, square, wide


def _perturb(conn, scale=0.05, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in conn.parameters():
            p.add_(scale * torch.randn(p.shape, generator=g))


@pytest.mark.parametrize('param', PARAMETRIZATIONS)
@pytest.mark.parametrize('d_s,d_t', SHAPES)
def test_orthogonality_inner_products_and_gradients(param, d_s, d_t):
    torch.manual_seed(0)
    conn = OrthogonalConnector(d_s, d_t, parametrization=param)
    P = conn.weight
    assert P.shape == (d_t, d_s)
    assert orthogonality_error(P) < 1e-5
    _perturb(conn)  # away from the start point: still exact
    assert orthogonality_error(conn.weight) < 1e-5
    x = torch.randn(8, d_s)
    y = conn(x)
    assert y.shape == (8, d_t)
    assert torch.allclose(y, x @ conn.weight.T, atol=1e-5)
    if d_s <= d_t:  # every intra-batch inner product is preserved
        assert torch.allclose(y @ y.T, x @ x.T, atol=1e-4)
    many = torch.randn(200, d_s)  # many rows: the explicit-weight path
    assert torch.allclose(conn(many), many @ conn.weight.T, atol=1e-5)
    (y * torch.randn_like(y)).sum().backward()
    grads = [p.grad for p in conn.parameters() if p.requires_grad]
    assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)
    assert sum(g.abs().sum() for g in grads) > 0


@pytest.mark.parametrize('param', ['cholesky_qr', 'stiefel_exp', 'householder'])
def test_identity_init_layouts_and_scale_bias(param):
    conn = OrthogonalConnector(
        4, 6, parametrization=param, init='identity', learnable_scale_bias=True)
    assert torch.allclose(conn.weight, torch.eye(6, 4), atol=1e-6)
    with torch.no_grad():
        conn.scale.fill_(2.0)
        conn.bias.fill_(0.5)
    x = torch.randn(3, 4)
    expect = torch.cat([x, torch.zeros(3, 2)], 1) * 2 + 0.5
    assert torch.allclose(conn(x), expect, atol=1e-5)
    tok = torch.randn(2, 5, 4)  # (N, L, C)
    assert torch.allclose(
        conn(tok), torch.cat([tok, torch.zeros(2, 5, 2)], -1) * 2 + .5, atol=1e-5)
    fmap = torch.randn(2, 4, 3, 3)  # (N, C, H, W)
    out = conn(fmap)
    assert out.shape == (2, 6, 3, 3)
    assert torch.allclose(out[:, :4], fmap * 2 + 0.5, atol=1e-5)
    assert torch.allclose(out[:, 4:], torch.full((2, 2, 3, 3), 0.5))


@pytest.mark.parametrize('param', ['cholesky_qr', 'polar', 'newton_schulz', 'cayley'])
def test_fast_maps_span_the_paper_map(param):
    """A map can be fitted to an orthonormal target produced by the paper's map."""
    torch.manual_seed(1)
    paper = OrthogonalConnector(5, 9, parametrization='matrix_exp')
    _perturb(paper, 0.3)
    target = paper.weight.detach()
    conn = OrthogonalConnector(5, 9, parametrization=param)
    start = (conn.weight - target).abs().max().item()
    opt = torch.optim.Adam(conn.parameters(), lr=0.1)
    for _ in range(100):
        opt.zero_grad()
        loss = (conn.weight - target).square().sum()
        loss.backward()
        opt.step()
    assert start > 0.3
    assert (conn.weight - target).abs().max() < 2e-2
    assert orthogonality_error(conn.weight) < 1e-5


@pytest.mark.parametrize('d_s,d_t', [(6, 10), (10, 6), (7, 7)])
def test_householder_is_pytorchs_map_with_signs_in_a_buffer(d_s, d_t):
    """Our householder route computes exactly PyTorch's map from PyTorch's state."""
    torch.manual_seed(0)
    ref = torch.nn.utils.parametrizations.orthogonal(
        torch.nn.Linear(d_s, d_t, bias=False), orthogonal_map='householder')
    orth = ref.parametrizations.weight
    with torch.no_grad():  # move away from the start (diagonal = signs untouched)
        noise = 0.3 * torch.randn(orth.original.shape)
        noise.diagonal().zero_()  # PyTorch keeps its signs there
        orth.original.add_(noise)
    conn = OrthogonalConnector(d_s, d_t, parametrization='householder')
    tall = orth.original if d_t >= d_s else orth.original.mT
    with torch.no_grad():
        conn.reflectors.copy_(tall)
        conn.signs.copy_(tall.diagonal().sign())
        conn.base.copy_(orth[0].base)
    assert torch.allclose(conn.weight, ref.weight, atol=1e-6)
    x = torch.randn(4, d_s)
    assert torch.allclose(conn(x), ref(x), atol=1e-6)
    # the start is PyTorch's: reflectors 0, signs -1, P = first columns of the base
    fresh = OrthogonalConnector(d_s, d_t, parametrization='householder')
    assert torch.equal(fresh.reflectors, torch.zeros_like(fresh.reflectors))
    assert torch.equal(fresh.signs, -torch.ones(min(d_s, d_t)))
    k = min(d_s, d_t)
    base_cols = fresh.base[:, :k]
    expect = base_cols if d_t >= d_s else base_cols.T
    assert torch.allclose(fresh.weight, expect, atol=1e-6)
    assert orthogonality_error(fresh.base) < 1e-6


@pytest.mark.parametrize('param', ['matrix_exp', 'cayley'])
def test_torch_maps_are_pytorchs_parametrization(param):
    torch.manual_seed(0)
    ref = torch.nn.utils.parametrizations.orthogonal(
        torch.nn.Linear(6, 10, bias=False), orthogonal_map=param)
    with torch.no_grad():
        ref.parametrizations.weight.original.add_(0.2 * torch.randn(10, 6))
    conn = OrthogonalConnector(6, 10, parametrization=param)
    conn.proj.load_state_dict(ref.state_dict())
    x = torch.randn(4, 6)
    assert torch.allclose(conn(x), ref(x), atol=1e-6)


_OPTIMIZERS = {
    'adamw': lambda params: torch.optim.AdamW(params, lr=1e-2, weight_decay=0.05),
    'sgd':
    lambda params: torch.optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=0.05),
}


@pytest.mark.parametrize('opt,d_s,d_t', [('adamw', 6, 16), ('sgd', 16, 6)])
@pytest.mark.parametrize('param', PARAMETRIZATIONS)
def test_every_map_survives_weight_decay(param, opt, d_s, d_t):
    """Weight decay on every connector parameter, 200 steps of a real distillation
    loss (smooth L1 to a fixed orthonormal teacher map; AdamW on a thin P, SGD with
    momentum on a wide one): P stays orthonormal, keeps its full norm (PyTorch's own
    householder map is exactly zero after one step of either) and learns."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    conn = OrthogonalConnector(d_s, d_t, parametrization=param, learnable_scale_bias=True)
    teacher = random_orthonormal(d_t, d_s, generator=g)
    optim = _OPTIMIZERS[opt](list(conn.parameters()))
    losses = []
    for _ in range(200):
        x = torch.randn(32, d_s, generator=g)
        loss = F.smooth_l1_loss(conn(x), x @ teacher.T)
        optim.zero_grad()
        loss.backward()
        optim.step()
        losses.append(loss.item())
    P = conn.weight.detach()
    assert orthogonality_error(P) < 1e-4
    assert P.square().sum().item() == pytest.approx(min(d_s, d_t), rel=1e-4)
    assert sum(losses[-10:]) < 0.7 * sum(losses[:10])


def test_orthogonal_connector_errors_and_state_dict():
    conn = OrthogonalConnector(8, 16)
    with pytest.raises(ValueError, match='`in_channels`=8 .* 7 channels'):
        conn(torch.randn(2, 7))
    with pytest.raises(ValueError, match='in_channels'):
        conn(torch.randn(2, 7, 3, 3))
    with pytest.raises(ValueError, match='parametrization'):
        OrthogonalConnector(8, 16, parametrization='qr')
    with pytest.raises(ValueError, match='out_channels'):
        OrthogonalConnector(8, 0)
    other = OrthogonalConnector(8, 16)
    other.load_state_dict(conn.state_dict())
    x = torch.randn(3, 8)
    assert torch.allclose(other(x), conn(x))
    built = MODELS.build(dict(type='OrthogonalConnector', in_channels=8, out_channels=16))
    assert isinstance(built, OrthogonalConnector)


def test_orthogonal_connector_under_autocast():
    conn = OrthogonalConnector(8, 32)
    x = torch.randn(4, 8)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        y = conn(x)
        P = conn.weight
    assert P.dtype == torch.float32 and orthogonality_error(P) < 1e-5
    assert torch.isfinite(y).all()
    assert torch.allclose(y.float(), x @ P.T, atol=5e-2)


def test_standardizer_modes():
    x = torch.randn(4, 7, 10)
    assert torch.equal(
        FeatureStandardizer('sample')(x), F.layer_norm(x, (10, ), eps=1e-5))
    fmap = torch.randn(3, 10, 2, 2)
    ref = F.layer_norm(fmap.permute(0, 2, 3, 1), (10, )).permute(0, 3, 1, 2)
    assert torch.allclose(FeatureStandardizer('sample')(fmap), ref, atol=1e-6)
    y = FeatureStandardizer('batch', eps=0.0)(x * 3 + 1)
    flat = y.reshape(-1, 10)
    assert torch.allclose(flat.mean(0), torch.zeros(10), atol=1e-5)
    assert torch.allclose(flat.std(0), torch.ones(10), atol=1e-5)  # unbiased std
    with pytest.raises(ValueError, match='at least 2 tokens'):
        FeatureStandardizer('batch')(torch.randn(1, 10))
    with pytest.raises(ValueError, match='mode'):
        FeatureStandardizer('layer')


@pytest.mark.parametrize('method', ['cholesky', 'zca'])
def test_whitener(method):
    torch.manual_seed(0)
    mix = torch.randn(6, 6)
    w = FeatureWhitener(6, method=method, eps=1e-6, momentum=1.0)
    x = torch.randn(400, 6) @ mix + 3
    y = w(x)
    assert torch.allclose(torch.cov(y.T), torch.eye(6), atol=2e-3)
    # N < d: shrinkage keeps it finite
    w_big = FeatureWhitener(64, method=method)
    assert torch.isfinite(w_big(torch.randn(8, 64))).all()
    # float16 inputs: computed in float32, finite
    y16 = FeatureWhitener(6, method=method)(x.half())
    assert y16.dtype == torch.float32 and torch.isfinite(y16).all()
    # eval uses the running statistics (momentum 1: the last batch's)
    w.eval()
    x2 = torch.randn(5, 6)
    assert torch.allclose(w(x2), (x2 - x.mean(0)) @ w_matrix(w).T, atol=1e-4)
    # running statistics survive a state_dict round trip
    w2 = FeatureWhitener(6, method=method, eps=1e-6).eval()
    w2.load_state_dict(w.state_dict())
    assert torch.allclose(w2(x2), w(x2))
    assert set(w.state_dict()) == {'running_mean', 'running_cov'}
    with pytest.raises(ValueError, match='num_features'):
        w(torch.randn(5, 7))


def w_matrix(w):
    from mmkd_ext.models.utils.whitening import whitening_matrix
    return whitening_matrix(w.running_cov, w.method, w.eps)


def test_whitener_under_autocast_and_maps():
    w = FeatureWhitener(4)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        y = w(torch.randn(2, 4, 5, 5))
    assert y.shape == (2, 4, 5, 5) and y.dtype == torch.float32
    assert torch.isfinite(y).all()


def test_pooling_and_sequential():
    tokens = torch.randn(2, 6, 4)
    pool = TokenMeanPoolConnector(num_skip_tokens=2)
    assert torch.allclose(pool(tokens), tokens[:, 2:].mean(1))
    assert torch.allclose(pool((torch.randn(2, 3, 4), tokens)), tokens[:, 2:].mean(1))
    with pytest.raises(ValueError, match='num_skip_tokens'):
        TokenMeanPoolConnector(6)(tokens)
    fmap = torch.randn(2, 4, 3, 3)
    gap = GlobalAvgPoolConnector()
    assert torch.allclose(gap((fmap, )), fmap.mean((2, 3)))
    assert torch.allclose(gap(fmap.mean((2, 3))), fmap.mean((2, 3)))
    seq = SequentialConnector([
        dict(type='GlobalAvgPoolConnector'),
        dict(type='OrthogonalConnector', in_channels=4, out_channels=8),
        dict(type='FeatureStandardizer', mode='sample')
    ])
    out = seq(fmap)
    proj = seq.connectors[1]
    assert torch.allclose(out, F.layer_norm(proj(fmap.mean((2, 3))), (8, )), atol=1e-5)
    with pytest.raises(ValueError, match='connectors'):
        SequentialConnector([])


@pytest.mark.parametrize('cls',
                         [LinearConnector, MLPConnector, ProjectorEnsembleConnector])
def test_baseline_projectors(cls):
    conn = cls(6, 10)
    for x, shape in ((torch.randn(3, 6), (3, 10)), (torch.randn(3, 5, 6), (3, 5, 10)),
                     (torch.randn(3, 6, 2, 2), (3, 10, 2, 2))):
        assert conn(x).shape == shape
    conn(torch.randn(3, 6)).sum().backward()
    assert all(p.grad is not None for p in conn.parameters())
    with pytest.raises(ValueError, match='in_channels'):
        conn(torch.randn(3, 5))


def test_projector_ensemble_is_mean_of_members():
    ens = ProjectorEnsembleConnector(6, 10, num_projectors=3)
    x = torch.randn(4, 6)
    ref = sum(p(x) for p in ens.projectors) / 3
    assert torch.allclose(ens(x), ref, atol=1e-6)
    assert random_orthonormal(3, 2).shape == (3, 2)
