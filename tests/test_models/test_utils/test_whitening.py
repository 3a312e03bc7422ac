"""Whitening maths (no OpenMMLab imports needed): batch covariance, the Cholesky / ZCA
whitening matrices, and the fast batch / running-statistics whitening against the
float64 reference. ``MMKD_TEST_DEVICE=cuda`` runs them on a GPU
(tools/benchmark/gpu_check.sh)."""
import os

import pytest
import torch

from mmkd_ext.models.utils.whitening import (batch_covariance, batch_whiten,
                                             cholesky_lower, whiten, whitening_matrix)

DEVICE = torch.device(os.environ.get('MMKD_TEST_DEVICE', 'cpu'))


def _features(n, d, scale=1.0, seed=0, dtype=torch.float32):
    """(n, d) correlated features with a decaying spectrum (eigenvalues of the
    covariance from ~scale^2 down to ~1e-4 scale^2) and a non-zero mean."""
    g = torch.Generator().manual_seed(seed)
    mix = torch.randn(
        d, d, generator=g, dtype=torch.float64) * torch.logspace(
            0, -2, d, dtype=torch.float64)
    z = torch.randn(n, d, generator=g, dtype=torch.float64) @ mix.T / d**0.5
    z = (z + torch.randn(d, generator=g, dtype=torch.float64)) * scale
    return z.to(DEVICE, dtype)


def _reference(z, method, eps):
    """The previous implementation in float64: unbiased covariance, shrinkage, explicit
    ``W = L^{-1}`` or ``W = U diag(lam^-1/2) U^T`` (eigh), ``(z - mu) W^T``."""
    z = z.double()
    mu = z.mean(0)
    zc = z - mu
    cov = zc.T @ zc / (z.shape[0] - 1)
    C = (1 - eps) * cov + eps * torch.eye(z.shape[1], dtype=z.dtype, device=z.device)
    if method == 'cholesky':
        W = torch.linalg.inv(torch.linalg.cholesky(C))
    else:
        lam, U = torch.linalg.eigh(C)
        W = (U * lam.rsqrt()) @ U.T
    return zc @ W.T, mu, cov


def _rel(a, b):
    return ((a.double() - b).norm() / b.norm()).item()


@pytest.mark.parametrize('method', ['cholesky', 'zca'])
def test_whitening_matrix_gives_identity_covariance(method):
    g = torch.Generator().manual_seed(0)
    z = torch.randn(
        500, 6, generator=g, dtype=torch.float64) @ torch.randn(
            6, 6, generator=g, dtype=torch.float64)
    z = z.to(DEVICE)
    mu, cov = batch_covariance(z)
    assert torch.allclose(cov, torch.cov(z.T), atol=1e-10)
    W = whitening_matrix(cov, method, eps=0.0)
    assert W.dtype == torch.float64  # computed in cov's dtype
    y = (z - mu) @ W.T
    eye = torch.eye(6, dtype=z.dtype, device=DEVICE)
    assert torch.allclose(torch.cov(y.T), eye, atol=1e-8)
    if method == 'zca':
        assert torch.allclose(W, W.T, atol=1e-10)
    else:
        assert torch.allclose(W, W.tril())
    with pytest.raises(ValueError, match='method'):
        whitening_matrix(cov, 'pca')


# 256 tokens x 512 channels: the benchmark's shape (tools/benchmark/whitening_floor.py);
# N < d, so ZCA takes the N x N Gram path; 600 x 64 takes the d x d path
@pytest.mark.parametrize('n, d', [(256, 512), (600, 64)])
@pytest.mark.parametrize('method', ['cholesky', 'zca'])
def test_batch_whiten_equals_float64_reference(method, n, d):
    eps = 1e-3
    z = _features(n, d)
    y, mu, cov = batch_whiten(z, method, eps)
    y_ref, mu_ref, cov_ref = _reference(z, method, eps)
    assert y.dtype == z.dtype == torch.float32 and y.shape == (n, d)
    assert _rel(y, y_ref) < 1e-4
    # the statistics for the running buffers: the unshrunk unbiased covariance
    assert _rel(mu, mu_ref) < 1e-6 and _rel(cov, cov_ref) < 1e-5
    # eval path (running statistics) on the same statistics, same result
    assert _rel(whiten(z, mu, cov, method, eps), y_ref) < 1e-4


@pytest.mark.parametrize('method', ['cholesky', 'zca'])
def test_batch_whiten_gradients(method, monkeypatch):
    # float64 gradcheck of both ZCA paths (N < d: Gram; N > d: covariance) and of the
    # recursive Cholesky (block 2 forces it on CPU at d = 7)
    import mmkd_ext.models.utils.whitening as wh
    for n, d in ((4, 6), (9, 6)):
        z = _features(n, d, dtype=torch.float64).requires_grad_()
        assert torch.autograd.gradcheck(lambda t: batch_whiten(t, method, 0.1)[0], (z, ))
    monkeypatch.setattr(wh, 'CHOLESKY_BLOCK', 2)
    z = _features(9, 7, dtype=torch.float64).requires_grad_()
    assert torch.autograd.gradcheck(lambda t: batch_whiten(t, method, 0.1)[0], (z, ))


@pytest.mark.parametrize('d, block', [(512, 128), (300, 64), (7, 2)])
def test_cholesky_lower_is_the_cholesky_factor(d, block):
    g = torch.Generator().manual_seed(0)
    A = torch.randn(d, d, generator=g, dtype=torch.float64)
    C = (A @ A.T / d + 0.1 * torch.eye(d, dtype=torch.float64)).to(DEVICE)
    L = cholesky_lower(C, block)
    torch.testing.assert_close(L, torch.linalg.cholesky(C), rtol=1e-10, atol=1e-10)
    assert torch.equal(L, L.tril())
    # float32 (the whitener's dtype): same factor to float32 rounding
    L32 = cholesky_lower(C.float(), block)
    assert (L32.double() - L).abs().max() < 1e-4 * L.abs().max()
    bad = C.clone()
    bad[-1, -1] = -1.0  # indefinite in the last block: the recursion must notice
    with pytest.raises(torch.linalg.LinAlgError):
        cholesky_lower(bad, block)


@pytest.mark.parametrize('method', ['cholesky', 'zca'])
def test_nonfinite_features_are_a_clear_error(method):
    for n, d in ((8, 300), (400, 300)):  # Gram / recursive-Cholesky and d x d paths
        for bad in (float('nan'), float('inf')):
            z = _features(n, d)
            z[0, -1] = bad
            with pytest.raises(ValueError, match='NaN or inf'):
                batch_whiten(z, method)
            # eval path: running statistics that took in such a batch
            mu, cov = batch_covariance(z)
            with pytest.raises(ValueError, match='NaN or inf'):
                whiten(
                    _features(n, d), 0.5 * mu,
                    0.5 * cov + 0.5 * torch.eye(d, device=DEVICE), method)
    with pytest.raises(ValueError, match='method'):
        batch_whiten(_features(8, 4), 'pca')
