"""OrthogonalConnector: every parametrization is orthonormal, spans the paper's map,
equals PyTorch's where it is PyTorch's, survives weight decay, works under autocast."""
import pytest
import torch
import torch.nn.functional as F
from mmrazor.registry import MODELS

import mmkd_ext  # noqa: F401
from mmkd_ext.models.connectors import OrthogonalConnector
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


@pytest.mark.parametrize('param', PARAMETRIZATIONS)
# bfloat16 CPU autocast, as `--amp` uses without CUDA (AutocastOptimWrapper)
def test_orthogonal_connector_stays_orthogonal_under_autocast(param):
    torch.manual_seed(0)
    d_s, d_t = (24, 48) if param in ('matrix_exp', 'householder') else (64, 256)
    conn = MODELS.build(
        dict(
            type='OrthogonalConnector',
            in_channels=d_s,
            out_channels=d_t,
            parametrization=param))
    opt = torch.optim.SGD(conn.parameters(), lr=0.5)
    x = torch.randn(32, d_s)
    target = torch.randn(32, d_t)
    for _ in range(3):  # training steps taken under autocast
        with torch.autocast('cpu', dtype=torch.bfloat16):
            loss = (conn(x) - target).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        P = conn.weight
    assert P.dtype == torch.float32  # the weight itself is never computed in bf16
    eye = torch.eye(d_s)
    assert (P.mT @ P - eye).abs().max() < 1e-3
    with torch.autocast('cpu', dtype=torch.bfloat16):
        y = conn(x)
    # the bf16 matmul keeps inner products to bf16 precision
    torch.testing.assert_close(y.float(), x @ P.mT, rtol=2e-2, atol=2e-2)


# -- bad inputs (docs/bad_inputs.md) ----------------------------------------------------
def test_b01_connector_in_channels_mismatch(raises, razor_build):
    conn = razor_build(dict(type='OrthogonalConnector', in_channels=8, out_channels=16))
    for x in (torch.randn(4, 5), torch.randn(2, 3, 5), torch.randn(2, 5, 3, 3)):
        raises(ValueError, lambda: conn(x), '`in_channels`=8', '5 channels')


@pytest.mark.parametrize('key,value', [('in_channels', 0), ('out_channels', -3),
                                       ('in_channels', 8.0), ('out_channels', True)])
def test_b02_connector_bad_channels(key, value, raises, razor_build):
    cfg = dict(type='OrthogonalConnector', in_channels=8, out_channels=16)
    cfg[key] = value
    raises(ValueError, lambda: razor_build(cfg), f'`{key}`', 'positive int')


def test_b03_unknown_parametrization(raises, razor_build):
    """B3, the connector's own key (the feature-pair key: test_vkd_distiller.py)."""
    raises(
        ValueError, lambda: razor_build(
            dict(
                type='OrthogonalConnector',
                in_channels=8,
                out_channels=16,
                parametrization='qr')), '`parametrization`', "'cholesky_qr'", "'qr'")
