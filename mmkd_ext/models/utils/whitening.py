"""Batch whitening maths for the VKD generation prior (pure functions).

For features Z (N, d) with mean mu and covariance (1/(N-1)) (Z - mu)^T (Z - mu), the
shrunk covariance is ``C = (1 - eps) Sigma + eps I`` (always SPD, so N < d never fails).
A whitening matrix W gives ``(Z - mu) W^T`` with covariance ``W C W^T = I``:

* ``cholesky``: ``C = L L^T``, ``W = L^{-1}`` (the author's choice in VKD, sec. 3.4);
* ``zca``: ``W = C^{-1/2}`` (symmetric; the closest whitening to the identity map).
"""
import torch

from .orthogonal import inv_sqrt_spd

__all__ = ['batch_covariance', 'shrink', 'whitening_matrix']


def batch_covariance(z):
    """Mean (d,) and unbiased covariance (d, d) of z (N, d), N >= 2."""
    n = z.shape[0]
    mu = z.mean(dim=0)
    zc = z - mu
    return mu, zc.mT @ zc / max(n - 1, 1)


def shrink(cov, eps):
    """``(1 - eps) cov + eps I``."""
    eye = torch.eye(cov.shape[-1], dtype=cov.dtype, device=cov.device)
    return (1.0 - eps) * cov + eps * eye


def whitening_matrix(cov, method='cholesky', eps=1e-3):
    """W (d, d) with ``W C W^T = I`` for the shrunk covariance C of ``cov``."""
    C = shrink(cov, eps)
    try:  # the factorisations already check their input; no extra host sync
        if method == 'cholesky':
            L = torch.linalg.cholesky(C)
            eye = torch.eye(C.shape[-1], dtype=C.dtype, device=C.device)
            return torch.linalg.solve_triangular(L, eye, upper=False)
        if method == 'zca':
            return inv_sqrt_spd(C)
    except torch.linalg.LinAlgError as err:
        raise ValueError(
            'FeatureWhitener: the covariance of the features reaching the whitener '
            'is not finite / positive definite: the (teacher) features contain NaN '
            f'or inf; expected finite features ({str(err).splitlines()[0]})') from None
    raise ValueError(f'FeatureWhitener: `method` must be "cholesky" or "zca", got '
                     f'"{method}"')
