"""Pure maths of the VKD projector (no OpenMMLab imports needed).
``MMKD_TEST_DEVICE=cuda`` runs them on a GPU (tools/benchmark/gpu_check.sh)."""
import os

import pytest
import torch

from mmkd_ext.models.utils.orthogonal import (cholesky_qr_inv, complete_orthogonal,
                                              gram_factor, gram_linear,
                                              householder_orthonormal, inv_sqrt_spd,
                                              newton_schulz_inv_sqrt, orthogonality_error,
                                              polar_factor, polar_linear,
                                              random_orthonormal, small_gram, stiefel_exp)

DEVICE = torch.device(os.environ.get('MMKD_TEST_DEVICE', 'cpu'))


def _spd(n, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    A = torch.randn(n, n, generator=g, dtype=dtype)
    return (A @ A.T / n + 0.5 * torch.eye(n, dtype=dtype)).to(DEVICE)


def test_inv_sqrt_spd_value_and_gradcheck():
    G = _spd(7)
    Y = inv_sqrt_spd(G)
    eye = torch.eye(7, dtype=G.dtype, device=DEVICE)
    assert torch.allclose(Y @ G @ Y, eye, atol=1e-10)
    # in the matrix's own dtype (float32, as the whitener uses it)
    Y32 = inv_sqrt_spd(G.float(), compute_dtype=None)
    assert Y32.dtype == torch.float32 and (Y32.double() - Y).abs().max() < 1e-5
    Gp = G.clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda g: inv_sqrt_spd(0.5 * (g + g.T)), (Gp, ))


def test_inv_sqrt_spd_gradient_finite_at_repeated_eigenvalues():
    # at an orthonormal start X^T X = I: all eigenvalues coincide
    G = torch.eye(5, device=DEVICE, requires_grad=True)
    inv_sqrt_spd(G).sum().backward()
    assert torch.isfinite(G.grad).all()
    # d/dG tr(G^-1/2) at I = -1/2 I
    G.grad = None
    (inv_sqrt_spd(G) * torch.eye(5, device=DEVICE)).sum().backward()
    assert torch.allclose(G.grad, -0.5 * torch.eye(5, device=DEVICE), atol=1e-6)


def test_cholesky_qr_is_the_q_factor():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(10, 3, generator=g, dtype=torch.float64).to(DEVICE)
    Q = X @ cholesky_qr_inv(X.T @ X)
    Qr, R = torch.linalg.qr(X)
    Qr = Qr * torch.sign(torch.diagonal(R))  # positive-diagonal convention
    assert torch.allclose(Q, Qr, atol=1e-10)
    Xp = X.clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda X: X @ cholesky_qr_inv(X.T @ X), (Xp, ))
    W = gram_factor(X.T.contiguous(), 'cholesky_qr')  # wide: P = Z^T X
    assert orthogonality_error(W.T @ X.T) < 1e-10


def test_newton_schulz_matches_eigh():
    G = _spd(16, seed=1)
    assert torch.allclose(newton_schulz_inv_sqrt(G), inv_sqrt_spd(G), atol=1e-8)


@pytest.mark.parametrize('shape', [(300, 24), (24, 24), (24, 300)])
@pytest.mark.parametrize('method', ['eigh', 'newton_schulz'])
def test_polar_factor_is_orthonormal_and_polar(shape, method):
    g = torch.Generator().manual_seed(0)
    X = random_orthonormal(*shape, generator=g) + 0.05 * torch.randn(*shape, generator=g)
    X = X.to(DEVICE)
    P = polar_factor(X, method)
    assert orthogonality_error(P) < 1e-5
    # polar factor: P^T X symmetric positive definite (tall case)
    S = P.T @ X if shape[0] >= shape[1] else X @ P.T
    assert torch.allclose(S, S.T, atol=1e-4)
    assert torch.linalg.eigvalsh(0.5 * (S + S.T)).min() > 0
    # an orthonormal matrix is its own polar factor
    Q = random_orthonormal(*shape, generator=g).to(DEVICE)
    assert torch.allclose(polar_factor(Q, method), Q, atol=1e-5)


@pytest.mark.parametrize('shape', [(12, 4), (4, 12)])
def test_polar_linear_equals_explicit_weight(shape):
    X = torch.randn(*shape, dtype=torch.float64, device=DEVICE, requires_grad=True)
    x = torch.randn(6, shape[1], dtype=torch.float64, device=DEVICE)
    y = polar_linear(x, X)
    assert torch.allclose(y, x @ polar_factor(X).T, atol=1e-10)
    assert torch.autograd.gradcheck(lambda X: polar_linear(x, X), (X, ))


def test_stiefel_exp_orthonormal_base_point_and_gradients():
    g = torch.Generator().manual_seed(0)
    B = random_orthonormal(200, 12, generator=g).to(DEVICE)
    om = torch.zeros(12, 12, device=DEVICE, requires_grad=True)
    K = torch.zeros(200, 12, device=DEVICE, requires_grad=True)
    P = stiefel_exp(B, om, K)
    assert torch.allclose(P, B, atol=1e-6)
    (P * torch.randn(200, 12, generator=g).to(DEVICE)).sum().backward()
    assert torch.isfinite(K.grad).all() and K.grad.abs().sum() > 0
    assert torch.isfinite(om.grad).all() and om.grad.abs().sum() > 0
    P2 = stiefel_exp(B,
                     torch.randn(12, 12, generator=g).to(DEVICE),
                     0.3 * torch.randn(200, 12, generator=g).to(DEVICE))
    assert orthogonality_error(P2) < 1e-5


def test_householder_orthonormal_ignores_the_diagonal_and_has_gradients():
    g = torch.Generator().manual_seed(0)
    B = complete_orthogonal(random_orthonormal(9, 4, generator=g))
    assert orthogonality_error(B) < 1e-6 and B.shape == (9, 9)
    assert torch.allclose(
        B[:, :4],
        random_orthonormal(9, 4, generator=torch.Generator().manual_seed(0)),
        atol=1e-6)
    B = B.to(DEVICE)
    signs = torch.tensor([1.0, -1.0, -1.0, 1.0], device=DEVICE)
    A = torch.randn(9, 4, generator=g, dtype=torch.float64).to(DEVICE)
    P = householder_orthonormal(A, signs, B.double())
    assert orthogonality_error(P) < 1e-6  # B is float32
    # the diagonal (and upper triangle) of A is not read: weight decay there is inert
    A2 = A.tril(-1) + 3 * torch.randn(9, 4, generator=g, dtype=A.dtype).to(DEVICE).triu()
    assert torch.allclose(householder_orthonormal(A2, signs, B.double()), P)
    # start: A = 0, signs -1 -> the base's first columns (PyTorch's trivialization)
    P0 = householder_orthonormal(
        torch.zeros(9, 4, device=DEVICE), -torch.ones(4, device=DEVICE), B)
    assert torch.allclose(P0, B[:, :4], atol=1e-6)
    Ap = A.clone().requires_grad_()
    assert torch.autograd.gradcheck(
        lambda a: householder_orthonormal(a.tril(-1), signs, B.double()), (Ap, ))


def test_random_orthonormal_shapes():
    assert orthogonality_error(random_orthonormal(40, 10)) < 1e-6
    W = random_orthonormal(10, 40)
    assert W.shape == (10, 40) and orthogonality_error(W) < 1e-6


@pytest.mark.parametrize('shape', [(40, 6), (6, 40)])
def test_small_gram_value_and_symmetric_backward(shape):
    X = torch.randn(*shape, dtype=torch.float64, device=DEVICE, requires_grad=True)
    G = small_gram(X)
    ref = X.T @ X if shape[0] >= shape[1] else X @ X.T
    torch.testing.assert_close(G, ref)
    # any (non-symmetric) upstream gradient: same as the plain matmul's
    assert torch.autograd.gradcheck(small_gram, (X, ))
    assert torch.autograd.gradgradcheck(small_gram, (X, ))


# rows: 8 <= 3 d_s (factored form), 64 > 3 d_s (P formed), and wide X
@pytest.mark.parametrize('rows, d_s, d_t', [(8, 6, 20), (64, 6, 20), (8, 20, 6)])
@pytest.mark.parametrize('method', ['cholesky_qr', 'polar', 'newton_schulz'])
def test_gram_linear_is_x_times_the_orthonormal_factor(rows, d_s, d_t, method):
    """What OrthogonalConnector computes for its Gram maps: y = x P^T with P the
    orthonormal factor of its parameter, gradients equal to the explicit P's."""
    g = torch.Generator().manual_seed(0)
    X = (random_orthonormal(d_t, d_s, generator=g, dtype=torch.float64) +
         0.1 * torch.randn(d_t, d_s, generator=g, dtype=torch.float64)).to(DEVICE)
    x = torch.randn(rows, d_s, generator=g, dtype=torch.float64).to(DEVICE)
    Z = gram_factor(X, method)
    P = X @ Z if d_t >= d_s else Z.T @ X
    assert orthogonality_error(P) < 1e-8
    torch.testing.assert_close(gram_linear(x, X, method), x @ P.T)
    Xp, xp = X.clone().requires_grad_(), x.clone().requires_grad_()
    if method != 'newton_schulz':  # 12 iterations: accurate, not exact to 1e-6
        assert torch.autograd.gradcheck(lambda a, b: gram_linear(a, b, method), (xp, Xp))
    # float32 parameter, (N, L, C) tokens: float32 out, same values
    y32 = gram_linear(x.float().reshape(2, rows // 2, d_s), X.float(), method)
    assert y32.dtype == torch.float32 and y32.shape == (2, rows // 2, d_t)
    assert (y32.reshape(rows, d_t).double() - x @ P.T).abs().max() < 1e-4
