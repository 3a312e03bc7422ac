"""Batch whitening maths for the VKD generation prior (pure functions, torch only).

For features Z (N, d) with mean mu and covariance (1/(N-1)) (Z - mu)^T (Z - mu), the
shrunk covariance is ``C = (1 - eps) Sigma + eps I`` (always SPD, so N < d never fails).
A whitening matrix W gives ``(Z - mu) W^T`` with covariance ``W C W^T = I``:

* ``cholesky``: ``C = L L^T``, ``W = L^{-1}`` (the author's choice in VKD, sec. 3.4);
* ``zca``: ``W = C^{-1/2}`` (symmetric; the closest whitening to the identity map).

Cost (docs/vkd.md, "Whitening at its FLOP floor"): everything runs in the features'
dtype (float32 in :class:`~mmkd_ext.models.connectors.FeatureWhitener`), the shrinkage
bounds the condition number of C by ``(lambda_max + eps) / eps``. The float32 error
relative to a float64 evaluation grows about linearly with cond(C), as it did before
(Cholesky, 256 x 512: 1.5e-5 at cond 2e3, 8e-5 at 2e4, 4e-4 at 2e5). No W is formed:

* Cholesky solves ``Y L^T = Z - mu`` (:func:`cholesky_whiten`: on CPU blocked together
  with the factorisation, L never assembled);
* ZCA with fewer tokens than channels (N < d) works on the N x N Gram matrix instead of
  the d x d covariance: ``(Z - mu) C^{-1/2} = (c^2 Zc Zc^T + eps I_N)^{-1/2} Zc`` with
  ``c^2 = (1 - eps) / (N - 1)`` (the push-through identity ``A (A^T A + eps I)^{-1/2}
  = (A A^T + eps I)^{-1/2} A``, exact), its eigendecomposition N x N and in float64
  (it is small); with N >= d, and in eval, a float32 eigh of C.
"""
import torch

from .orthogonal import inv_sqrt_spd

__all__ = [
    'batch_covariance', 'shrink', 'cholesky_lower', 'cholesky_whiten', 'whitening_matrix',
    'whiten', 'batch_whiten'
]

_METHODS = ('cholesky', 'zca')
#: below 2 * block channels a Cholesky factorisation is one LAPACK call
CHOLESKY_BLOCK = 128


def batch_covariance(z):
    """Mean (d,) and unbiased covariance (d, d) of z (N, d), N >= 2."""
    n = z.shape[0]
    mu = z.mean(dim=0)
    zc = z - mu
    return mu, torch.mm(zc.mT, zc).div_(max(n - 1, 1))


def shrink(cov, eps):
    """``(1 - eps) cov + eps I``."""
    out = cov * (1.0 - eps)
    out.diagonal(dim1=-2, dim2=-1).add_(eps)
    return out


def cholesky_lower(C, block=None):
    """Lower Cholesky factor L (d, d) of an SPD C (d, d), ``C = L L^T``; differentiable.

    On CPU for d > 2 * block a recursive blocked factorisation: ``L11 = chol(C11)``,
    ``L21 = C21 L11^{-T}`` (triangular solve), ``L22 = chol(C22 - L21 L21^T)`` (one
    GEMM), i.e. most of the d^3 / 3 FLOPs in GEMM / TRSM (LAPACK's ``potrf`` of MKL
    runs d = 512 at about a fifth of the GEMM rate on this project's CPU; the
    recursion at about two fifths; same factor to float rounding). Elsewhere one
    ``torch.linalg.cholesky``. Raises ``torch.linalg.LinAlgError`` if C is not
    positive definite (or not finite). ``block`` None: :data:`CHOLESKY_BLOCK`.
    """
    block = block or CHOLESKY_BLOCK
    n = C.shape[-1]
    if C.device.type != 'cpu' or n <= 2 * block:
        return torch.linalg.cholesky(C)
    k = n // 2
    L11 = cholesky_lower(C[:k, :k], block)
    L21 = torch.linalg.solve_triangular(L11.mT, C[k:, :k], upper=True, left=False)
    L22 = cholesky_lower(torch.addmm(C[k:, k:], L21, L21.mT, alpha=-1.0), block)
    top = torch.cat([L11, L11.new_zeros(k, n - k)], dim=1)
    return torch.cat([top, torch.cat([L21, L22], dim=1)], dim=0)


def _check_method(method):
    if method not in _METHODS:
        raise ValueError(f'FeatureWhitener: `method` must be "cholesky" or "zca", got '
                         f'"{method}"')


def _nonfinite_error(err):
    return ValueError(
        'FeatureWhitener: the covariance of the features reaching the whitener '
        'is not finite / positive definite: the (teacher) features contain NaN '
        f'or inf; expected finite features ({str(err).splitlines()[0]})')


def whitening_matrix(cov, method='cholesky', eps=1e-3):
    """W (d, d) with ``W C W^T = I`` for the shrunk covariance C of ``cov`` (in cov's
    dtype): ``L^{-1}`` (lower triangular) or ``C^{-1/2}`` (symmetric)."""
    _check_method(method)
    C = shrink(cov, eps)
    try:
        _check_finite(C)
        if method == 'cholesky':
            eye = torch.eye(C.shape[-1], dtype=C.dtype, device=C.device)
            return torch.linalg.solve_triangular(cholesky_lower(C), eye, upper=False)
        return inv_sqrt_spd(C, compute_dtype=None)
    except torch.linalg.LinAlgError as err:
        raise _nonfinite_error(err) from None


def _check_finite(C):
    """LinAlgError if the SPD matrix to factorise is not finite. A NaN / inf feature
    makes the whole diagonal of its covariance (or Gram matrix) NaN; ``eigh`` returns
    NaN without an error and not every ``potrf`` flags NaN, so it is checked here, the
    same on every device (one host sync on GPUs, where the factorisations already sync
    for their own error checks)."""
    if not bool(torch.isfinite(C.diagonal()).all()):
        raise torch.linalg.LinAlgError('the matrix to factorise is not finite')


def cholesky_whiten(C, zc, block=None):
    """``Y = zc L^{-T}`` (M, d) for SPD C (d, d) = L L^T, without forming L or L^{-1}.

    ``Y L^T = zc`` is one triangular solve. On CPU for d > 2 * block it is solved
    together with the blocked factorisation of :func:`cholesky_lower`: with
    ``L = [[L11, 0], [L21, L22]]``, ``Y1 = zc1 L11^{-T}`` and ``Y2 = (zc2 - Y1 L21^T)
    L22^{-T}``, recursing on the Schur complement ``C22 - L21 L21^T`` (L is never
    assembled). Raises ``torch.linalg.LinAlgError`` if C is not positive definite.
    """
    block = block or CHOLESKY_BLOCK
    n = C.shape[-1]
    if C.device.type != 'cpu' or n <= 2 * block:
        return torch.linalg.solve_triangular(
            torch.linalg.cholesky(C).mT, zc, upper=True, left=False)
    k = n // 2
    L11 = cholesky_lower(C[:k, :k], block)
    L21 = torch.linalg.solve_triangular(L11.mT, C[k:, :k], upper=True, left=False)
    S = torch.addmm(C[k:, k:], L21, L21.mT, alpha=-1.0)
    Y1 = torch.linalg.solve_triangular(L11.mT, zc[:, :k], upper=True, left=False)
    Y2 = cholesky_whiten(S, torch.addmm(zc[:, k:], Y1, L21.mT, alpha=-1.0), block)
    return torch.cat([Y1, Y2], dim=1)


def _apply(zc, C, method):
    """``zc W^T`` (M, d) for the whitening matrix W of the shrunk covariance C."""
    _check_finite(C)
    if method == 'cholesky':  # Y L^T = zc: triangular solves, no inverse
        return cholesky_whiten(C, zc)
    return zc @ inv_sqrt_spd(C, compute_dtype=None)  # W symmetric


def whiten(z, mean, cov, method='cholesky', eps=1e-3):
    """``(z - mean) W^T`` (M, d) for given statistics (running ones in eval).

    z (M, d), mean (d,), cov (d, d) unshrunk; computed in z's dtype.
    """
    _check_method(method)
    try:
        return _apply(z - mean, shrink(cov, eps), method)
    except torch.linalg.LinAlgError as err:
        raise _nonfinite_error(err) from None


def batch_whiten(z, method='cholesky', eps=1e-3):
    """Whiten z (N, d), N >= 2, with its own statistics: ``(y, mean, cov)``.

    ``y = (z - mean) W^T`` (N, d) exactly as ``whiten(z, *batch_covariance(z))``;
    ``mean`` (d,) and the unshrunk unbiased ``cov`` (d, d) are returned for running
    statistics. ZCA with N < d goes through the N x N Gram matrix (module docstring);
    then ``cov`` is computed without gradient (it only feeds running statistics).
    """
    _check_method(method)
    n, d = z.shape
    mu = z.mean(dim=0)
    zc = z - mu
    try:
        if method == 'zca' and n < d:
            with torch.no_grad():
                cov = torch.mm(zc.mT, zc).div_(n - 1)
            K = torch.mm(zc, zc.mT).mul_((1.0 - eps) / (n - 1))
            K.diagonal().add_(eps)
            _check_finite(K)
            return inv_sqrt_spd(K) @ zc, mu, cov
        cov = torch.mm(zc.mT, zc).div_(n - 1)
        return _apply(zc, shrink(cov, eps), method), mu, cov
    except torch.linalg.LinAlgError as err:
        raise _nonfinite_error(err) from None
