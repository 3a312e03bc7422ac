"""Orthogonal (Stiefel) parametrizations for the VKD projector, as pure functions.

Notation: the projector maps a student feature z_s (d_s) to the teacher space (d_t),
``y = z_s P^T`` with ``P`` of shape (d_t, d_s). VKD (Miles et al., CVPR 2024, eq. 3)
asks for ``P^T P = I`` (orthonormal columns, d_s <= d_t) so that every inner product
``<P z_i, P z_j> = <z_i, z_j>`` is preserved; for d_s > d_t the rows are orthonormal
(``P P^T = I``). Every function here is exact to float tolerance and differentiable.

Maps (X is an unconstrained parameter of P's shape unless stated):

* :func:`polar_factor`, the polar map ``P = X (X^T X)^{-1/2}`` (tall X) or
  ``P = (X X^T)^{-1/2} X`` (wide X), i.e. the orthonormal factor of X's polar
  decomposition (the closest orthonormal matrix to X). It is onto the Stiefel
  manifold. Cost O(d_t d_s^2) plus a d_s x d_s eigendecomposition; its backward uses the
  Daleckii-Krein formula of :class:`InvSqrtSPD`, well defined even when eigenvalues
  coincide (e.g. at an orthonormal start, where ``X^T X = I``).
* :func:`cholesky_qr_inv`, the Q factor of the thin QR decomposition (positive
  diagonal R): ``P = X R^{-1}`` with ``X^T X = R^T R`` (Cholesky), ``P = R^{-T} X`` for
  wide X. Onto the Stiefel manifold (an orthonormal X is its own Q factor); the
  cheapest map: one Gram, a d_s x d_s Cholesky and a triangular inverse, smooth
  gradients everywhere (no eigenvalue gaps). The default of the connector.
* :func:`newton_schulz_inv_sqrt`, the same polar map with ``(X^T X)^{-1/2}`` from
  coupled Newton-Schulz iterations on the small Gram matrix (matmuls only, no
  eigendecomposition and no host synchronisation on GPUs).
* :func:`stiefel_exp`, the Riemannian exponential of the Stiefel manifold (Euclidean
  metric, Edelman, Arias & Smith 1998, eq. 2.45) at a fixed base point ``B``:
  ``P = [B, D] expm([[A, -S], [I, A]])[:, :k] expm(-A)`` with the tangent vector
  ``D = B Omega + (I - B B^T) K``, ``A = B^T D = Omega`` skew, ``S = D^T D``. Only a
  2k x 2k exponential; no d_t x d_t matrix, no QR.
* :func:`householder_orthonormal`, PyTorch's Householder map with its sign vector
  passed in explicitly: ``P = B H(A) diag(s)``, ``H(A)`` the first k columns of the
  product of the k reflections whose vectors are the strictly lower triangle of A,
  ``s`` a fixed +-1 vector, ``B`` a fixed n x n orthogonal base. PyTorch keeps ``s`` in
  the diagonal of its trainable parameter and reads it with ``.int()``; weight decay
  turns -1 into -0.99995, ``.int()`` into 0, and P into the zero matrix for good. Here
  ``s`` is a buffer, so no optimizer can touch it.
* The paper's full map (``matrix_exp`` of a max(d_s, d_t)-sized skew matrix) and
  PyTorch's Cayley map are used through
  :func:`torch.nn.utils.parametrizations.orthogonal` by
  :class:`~mmkd_ext.models.connectors.OrthogonalConnector`, so they match PyTorch
  (their diagonal cancels in ``X - X^T``; weight decay only pulls them to the base).
"""
import torch
import torch.nn.functional as F

__all__ = [
    'InvSqrtSPD', 'inv_sqrt_spd', 'SmallGram', 'small_gram', 'cholesky_qr_inv',
    'gram_factor', 'gram_linear', 'newton_schulz_inv_sqrt', 'polar_factor',
    'polar_linear', 'stiefel_exp', 'householder_orthonormal', 'skew',
    'orthogonality_error', 'random_orthonormal', 'identity_orthonormal',
    'complete_orthogonal'
]


class InvSqrtSPD(torch.autograd.Function):
    """``G^{-1/2}`` of a symmetric positive definite matrix G (k, k).

    Forward: eigendecomposition ``G = U diag(lam) U^T`` (float64 inside),
    ``Y = U diag(lam^{-1/2}) U^T``. Backward (Daleckii-Krein, f(l) = l^{-1/2}):
    ``dL/dG = U (K o (U^T sym(dL/dY) U)) U^T`` with
    ``K_ij = (f(l_i) - f(l_j)) / (l_i - l_j) = -1 / (s_i s_j (s_i + s_j))``,
    ``s = sqrt(lam)``; it has no 1 / (l_i - l_j) term, so repeated eigenvalues are fine.
    Eigenvalues are clamped at ``min_eig`` (relative to the largest) to stay finite.
    ``compute_dtype``: the dtype of the eigendecomposition (float64 by default; None:
    G's own dtype, e.g. float32 for a shrinkage-stabilised covariance, docs/vkd.md).
    """

    @staticmethod
    def forward(ctx, G, min_eig=1e-12, compute_dtype=torch.float64):
        dtype = G.dtype
        Gd = G.to(compute_dtype or dtype)
        Gd = 0.5 * (Gd + Gd.mT)
        lam, U = torch.linalg.eigh(Gd)
        lam = lam.clamp_min(min_eig * lam[..., -1:].abs().clamp_min(1e-30))
        s = lam.sqrt()
        Y = (U / s.unsqueeze(-2)) @ U.mT
        ctx.save_for_backward(U, s)
        return Y.to(dtype)

    @staticmethod
    def backward(ctx, gY):
        U, s = ctx.saved_tensors
        g = gY.to(U.dtype)
        g = 0.5 * (g + g.mT)
        M = U.mT @ g @ U
        si, sj = s.unsqueeze(-1), s.unsqueeze(-2)
        M = M * (-1.0 / (si * sj * (si + sj)))
        gG = U @ M @ U.mT
        return gG.to(gY.dtype), None, None


def inv_sqrt_spd(G, min_eig=1e-12, compute_dtype=torch.float64):
    """``G^{-1/2}`` of an SPD matrix G (..., k, k), see :class:`InvSqrtSPD`
    (``compute_dtype`` None: in G's dtype)."""
    return InvSqrtSPD.apply(G, min_eig, compute_dtype)


def newton_schulz_inv_sqrt(G, num_iters=12):
    """``G^{-1/2}`` of an SPD matrix (k, k) by coupled Newton-Schulz iterations.

    Scale by ``c = min(||G||_inf, ||G||_F)`` (both bound the largest eigenvalue; the
    Gershgorin bound is tight for the near-identity Gram of a near-orthonormal X; c is
    a constant for autograd since the limit does not depend on it) so that the
    spectrum of G / c lies in (0, 1]; iterate
    ``T = (3 I - Z Y) / 2, Y <- Y T, Z <- T Z`` from ``Y = G / c, Z = I``; then
    ``Y -> (G/c)^{1/2}`` and ``Z -> (G/c)^{-1/2}`` (Higham, Functions of Matrices,
    eq. 6.35), so ``G^{-1/2} = Z / sqrt(c)``. Converges quadratically once the spectrum
    is near 1; 12 iterations reach float32 precision for condition numbers up to ~1e2.
    """
    k = G.shape[-1]
    with torch.no_grad():
        c = torch.minimum(G.abs().sum(-1).amax(-1),
                          torch.linalg.matrix_norm(G)).clamp_min(1e-30)
    eye = torch.eye(k, dtype=G.dtype, device=G.device)
    Y = G / c[..., None, None]
    Z = eye.expand_as(G)
    for _ in range(num_iters):
        T = 1.5 * eye - 0.5 * (Z @ Y)
        Y = Y @ T
        Z = T @ Z
    return Z / c.sqrt()[..., None, None]


def cholesky_qr_inv(G):
    """``R^{-1}`` (k, k, upper triangular) for SPD ``G = R^T R`` (Cholesky, R = L^T).

    For a tall X with ``G = X^T X``, ``X R^{-1}`` is the Q factor of X's thin QR.
    On CUDA ``cholesky_ex`` is used (no host sync); on CPU a failure raises.
    """
    if G.is_cuda:
        L = torch.linalg.cholesky_ex(G)[0]
    else:
        try:
            L = torch.linalg.cholesky(G)
        except RuntimeError as err:
            raise ValueError('cholesky_qr: the projector weight lost full rank (its '
                             f'Gram matrix is not positive definite): {err}') from None
    eye = torch.eye(G.shape[-1], dtype=G.dtype, device=G.device)
    return torch.linalg.solve_triangular(L, eye, upper=False).mT


class SmallGram(torch.autograd.Function):
    """The small Gram matrix of X (n, k): ``X^T X`` (k, k) if n >= k, else ``X X^T``.

    Same value as the matmul; its backward uses the symmetry of G: for tall X
    ``dL/dX = X (dG + dG^T)``, for wide X ``(dG + dG^T) X``, one n k^2 product instead
    of the two of a general matmul's backward (the Gram is the largest product of a
    Gram map's forward + backward at a small batch, e.g. 3024 x 192 in DeiT-Ti <-
    RegNetY-160). Differentiable twice (the backward is built from tracked ops).
    """

    @staticmethod
    def forward(ctx, X):
        ctx.save_for_backward(X)
        return X.mT @ X if X.shape[-2] >= X.shape[-1] else X @ X.mT

    @staticmethod
    def backward(ctx, dG):
        X, = ctx.saved_tensors
        S = dG + dG.mT
        return X @ S if X.shape[-2] >= X.shape[-1] else S @ X


def small_gram(X):
    """``X^T X`` (tall X) or ``X X^T`` (wide X), see :class:`SmallGram`."""
    return SmallGram.apply(X)


def gram_factor(X, method='cholesky_qr', ns_iters=12):
    """Z (k, k) with P = X Z (tall X) or P = Z^T X (wide X) orthonormal.

    ``method``: ``'cholesky_qr'`` (Z = R^{-1}), ``'eigh'`` / ``'polar'`` or
    ``'newton_schulz'`` (Z = G^{-1/2}, symmetric). G is the small Gram matrix
    (:func:`small_gram`).
    """
    G = small_gram(X)
    if method == 'cholesky_qr':
        return cholesky_qr_inv(G)
    return _inv_sqrt(G, 'eigh' if method == 'polar' else method, ns_iters)


def _inv_sqrt(G, method, ns_iters):
    if method == 'eigh':
        return inv_sqrt_spd(G)
    if method == 'newton_schulz':
        return newton_schulz_inv_sqrt(G, ns_iters)
    raise ValueError(f'unknown inverse square root method "{method}", expected '
                     '"eigh" or "newton_schulz"')


def polar_factor(X, method='eigh', ns_iters=12):
    """Orthonormal polar factor of X (d_t, d_s): ``X (X^T X)^{-1/2}`` when tall,
    ``(X X^T)^{-1/2} X`` when wide. Computed in float32 (or float64 if X is)."""
    Xf = X.float() if X.dtype not in (torch.float32, torch.float64) else X
    Z = _inv_sqrt(small_gram(Xf), method, ns_iters)
    return Xf @ Z if Xf.shape[-2] >= Xf.shape[-1] else Z @ Xf


def polar_linear(x, X, method='eigh', ns_iters=12):
    """``x P^T`` with ``P = polar_factor(X)`` without forming P.

    x: (M, d_s), X: (d_t, d_s) -> (M, d_t). Tall X: ``(x Z) X^T`` with
    ``Z = (X^T X)^{-1/2}`` (d_s x d_s); wide X: ``(x X^T) Z`` with ``Z = (X X^T)^{-1/2}``.
    Forward + backward cost: one Gram (d_t d_s^2), the usual three M d_s d_t products of
    a linear layer, one small eigendecomposition and one more d_t d_s^2 product.
    """
    Xf = X.float() if X.dtype not in (torch.float32, torch.float64) else X
    Z = _inv_sqrt(small_gram(Xf), method, ns_iters).to(x.dtype)
    if Xf.shape[0] >= Xf.shape[1]:
        return (x @ Z) @ X.to(x.dtype).mT
    return (x @ X.to(x.dtype).mT) @ Z


def gram_linear(x, X, method='cholesky_qr', ns_iters=12):
    """``x P^T`` (..., d_t) for x (..., d_s) and ``P = X Z`` / ``Z^T X`` the orthonormal
    factor of a Gram map (:func:`gram_factor`) of X (d_t, d_s); what
    :class:`~mmkd_ext.models.connectors.OrthogonalConnector` computes.

    Z (min(d_s, d_t) square) is computed once, in float32 (or X's float64) with autocast
    off. Tall X: ``(x Z^T) X^T`` without forming P while the M rows of x are few (M <=
    3 d_s: its backward costs one extra M d_s d_t product), else ``P = X Z`` once
    (3 d_t d_s^2 extra). Wide X: ``(x X^T) Z`` (extra cost M d_t^2). The products run in
    x's dtype (autocast's); X is cast only if its dtype differs (no copy otherwise).
    """
    device_type = x.device.type
    with torch.autocast(device_type, enabled=False):
        Xf = X.float() if X.dtype not in (torch.float32, torch.float64) else X
        Z = gram_factor(Xf, method, ns_iters)
    Xc = X.to(x.dtype)
    rows = x.numel() // max(x.shape[-1], 1)
    if X.shape[0] < X.shape[1]:
        return torch.matmul(x, Xc.mT) @ Z.to(x.dtype)
    if rows <= 3 * X.shape[1]:
        return torch.matmul(x, Z.mT.to(x.dtype)) @ Xc.mT
    with torch.autocast(device_type, enabled=False):
        P = Xf @ Z
    return F.linear(x, P.to(x.dtype))


def skew(W):
    """Skew-symmetric part ``W - W^T`` of the strictly upper triangle of W (k, k)."""
    U = W.triu(1)
    return U - U.mT


def stiefel_exp(base, omega, K):
    """Stiefel exponential at ``base`` (n, k), n >= k, Euclidean metric.

    Tangent vector ``D = base A + (I - base base^T) K`` with ``A = skew(omega)``;
    ``P = [base, D] expm([[A, -D^T D], [I, A]])[:, :k] expm(-A)``
    (Edelman, Arias & Smith 1998, eq. 2.45). Returns P (n, k) with ``P^T P = I``.
    With ``omega = 0, K = 0`` it returns ``base``.
    """
    k = base.shape[-1]
    A = skew(omega)
    D = base @ A + K - base @ (base.mT @ K)
    S = D.mT @ D
    eye = torch.eye(k, dtype=base.dtype, device=base.device)
    M = torch.cat([torch.cat([A, -S], dim=1), torch.cat([eye, A], dim=1)], dim=0)
    E = torch.linalg.matrix_exp(M.double())[:, :k] @ torch.linalg.matrix_exp(-A.double())
    E = E.to(base.dtype)
    return base @ E[:k] + D @ E[k:]


def householder_orthonormal(A, signs, base=None):
    """PyTorch's Householder map with the signs held outside the parameter.

    ``A`` (n, k), n >= k: only its strictly lower triangle is read; column j below the
    diagonal is ``v_j`` (with ``v_j[j] = 1`` implied) and ``tau_j = 2 / (1 + ||v_j||^2)``
    makes ``H_j = I - tau_j v_j v_j^T`` a reflection. ``signs`` (k,) of +-1,
    ``base`` (n, n) orthogonal or None. Returns
    ``P = base (H_0 H_1 ... H_{k-1})[:, :k] diag(signs)`` (n, k) with ``P^T P = I`` for
    every A. Identical to ``torch.nn.utils.parametrizations.orthogonal(...,
    orthogonal_map='householder')`` whose parameter holds ``A`` below and ``signs`` on
    the diagonal; here the diagonal of A is ignored, so weight decay cannot zero P.
    With ``A = 0`` and ``signs = -1`` it returns ``base[:, :k]`` (PyTorch's start).
    """
    V = A.tril(diagonal=-1)
    tau = 2.0 / (1.0 + (V * V).sum(dim=-2))
    Q = torch.linalg.householder_product(V, tau) * signs.to(A.dtype).unsqueeze(-2)
    return Q if base is None else base.to(A.dtype) @ Q


def orthogonality_error(P):
    """max |P^T P - I| (tall or square P) or max |P P^T - I| (wide P)."""
    P = P.double()
    G = P.mT @ P if P.shape[-2] >= P.shape[-1] else P @ P.mT
    eye = torch.eye(G.shape[-1], dtype=G.dtype, device=G.device)
    return (G - eye).abs().max()


def random_orthonormal(rows, cols, generator=None, dtype=torch.float32):
    """A Haar-random (rows, cols) matrix with orthonormal columns (or rows if wide)."""
    n, k = max(rows, cols), min(rows, cols)
    Q, R = torch.linalg.qr(torch.randn(n, k, generator=generator, dtype=torch.float64))
    Q = Q * torch.sign(torch.diagonal(R)).unsqueeze(0)
    Q = Q.to(dtype)
    return Q if rows >= cols else Q.mT.contiguous()


def identity_orthonormal(rows, cols, dtype=torch.float32):
    """``[I; 0]`` (tall) or ``[I, 0]`` (wide): the identity-like orthonormal start."""
    return torch.eye(rows, cols, dtype=dtype)


def complete_orthogonal(Q, generator=None):
    """An (n, n) orthogonal matrix whose first k columns are ``Q`` (n, k), Q^T Q = I.

    The other n - k columns are the orthonormalised remainder of random columns
    (PyTorch's ``orthogonal`` trivialization base is built the same way).
    """
    n, k = Q.shape
    if n == k:
        return Q.clone()
    Qd = Q.double()
    N = torch.randn(n, n - k, generator=generator, dtype=torch.float64)
    N = N - Qd @ (Qd.mT @ N)
    N, R = torch.linalg.qr(N)
    N = N * torch.sign(torch.diagonal(R)).unsqueeze(0)
    N = N - Qd @ (Qd.mT @ N)  # one re-orthogonalisation against Q
    N = torch.linalg.qr(N)[0]
    return torch.cat([Qd, N], dim=1).to(Q.dtype)
