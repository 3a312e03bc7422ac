"""Numerics under mixed precision (issue 8): bfloat16 CPU autocast, as `--amp` uses
without CUDA (mmkd_ext.engine.AutocastOptimWrapper)."""
import pytest
import torch
from mmrazor.registry import MODELS

import mmkd_ext  # noqa: F401
from mmkd_ext.models.connectors.orthogonal_connector import PARAMETRIZATIONS


def _bf16():
    return torch.autocast('cpu', dtype=torch.bfloat16)


@pytest.mark.parametrize('param', PARAMETRIZATIONS)
def test_orthogonal_connector_stays_orthogonal_under_autocast(param):
    torch.manual_seed(0)
    d_s, d_t = (24, 48) if param in ('matrix_exp', 'householder') else (64, 256)
    conn = MODELS.build(dict(type='OrthogonalConnector', in_channels=d_s,
                             out_channels=d_t, parametrization=param))
    opt = torch.optim.SGD(conn.parameters(), lr=0.5)
    x = torch.randn(32, d_s)
    target = torch.randn(32, d_t)
    for _ in range(3):  # training steps taken under autocast
        with _bf16():
            loss = (conn(x) - target).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with _bf16():
        P = conn.weight
    assert P.dtype == torch.float32  # the weight itself is never computed in bf16
    eye = torch.eye(d_s)
    assert (P.mT @ P - eye).abs().max() < 1e-3
    with _bf16():
        y = conn(x)
    # the bf16 matmul keeps inner products to bf16 precision
    torch.testing.assert_close(y.float(), x @ P.mT, rtol=2e-2, atol=2e-2)


@pytest.mark.parametrize('method', ['cholesky', 'zca'])
def test_whitener_is_float32_and_close_to_float32_under_autocast(method):
    torch.manual_seed(0)
    w32 = MODELS.build(dict(type='FeatureWhitener', num_features=64,
                            method=method))
    w16 = MODELS.build(dict(type='FeatureWhitener', num_features=64,
                            method=method))
    feats = torch.randn(32, 64) * 5 + 3  # N < d: needs the shrinkage
    ref = w32(feats)
    with _bf16():
        out = w16(feats.bfloat16())
    assert out.dtype == torch.float32 and torch.isfinite(out).all()
    # the only difference is the bf16 rounding of the input
    w_round = MODELS.build(dict(type='FeatureWhitener', num_features=64,
                                method=method))
    ref_rounded = w_round(feats.bfloat16().float())
    torch.testing.assert_close(out, ref_rounded, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(w16.running_cov, w_round.running_cov)
    assert (out - ref).abs().max() < 0.1
    torch.testing.assert_close(w16.running_cov, w32.running_cov, rtol=2e-2,
                               atol=5e-2)


def test_nc_losses_finite_and_close_under_autocast():
    torch.manual_seed(0)
    bank_cfg = dict(type='PrototypeBank', name='amp_test_bank', num_classes=10,
                    feat_dim=32, mode='online')
    nc1 = MODELS.build(dict(type='NC1AlignLoss', bank=bank_cfg))
    nc2 = MODELS.build(dict(type='NC2StructureLoss', teacher_means='batch'))
    t = torch.randn(64, 32)
    labels = torch.arange(64) % 10
    nc1.bank.update(t, labels)
    s = torch.randn(64, 32, requires_grad=True)
    l1, l2 = nc1(s, labels), nc2(s, labels, t)
    with _bf16():
        s16 = s.bfloat16()
        m1, m2 = nc1(s16, labels), nc2(s16, labels, t.bfloat16())
    for ref, got in ((l1, m1), (l2, m2)):
        assert torch.isfinite(got)
        assert got.float().item() == pytest.approx(ref.item(), rel=3e-2, abs=3e-3)
    (m1 + m2).float().backward()
    assert torch.isfinite(s.grad).all() and s.grad.abs().sum() > 0
