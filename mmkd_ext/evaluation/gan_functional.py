"""GAN evaluation formulas on feature matrices (pure functions).

Each follows the maintained reference implementation it is tested against
(``tests/test_evaluation/test_gan_functional.py``,
``tests/test_evaluation/test_generative_metric.py``), so the numbers are comparable
with published ones:

* FID (Heusel et al. 2017):
  ``||mu_r - mu_f||^2 + tr(S_r) + tr(S_f) - 2 tr((S_r S_f)^{1/2})``, covariances
  with 1/(N-1) in float64. As torch-fidelity (``metric_fid.py``) does,
  ``tr((S_r S_f)^{1/2}) = sum_i sqrt(lambda_i(S_r S_f))`` from the eigenvalues of the
  product (real and >= 0 in exact arithmetic, since it is similar to the PSD
  ``S_r^{1/2} S_f S_r^{1/2}``), real part of the complex square roots. No
  ``scipy.linalg.sqrtm`` (its ``disp`` argument is deprecated and goes in SciPy 1.18).
  Like pytorch-fid, a large imaginary component (a sign of broken statistics, e.g. a
  covariance that is not PSD or has NaNs) raises instead of being dropped silently.
* IS (Salimans et al. 2016): ``exp(E_x KL(p(y|x) || p(y)))`` per split; mean and
  population std over ``splits`` splits. As torch-fidelity: the samples are shuffled
  first with ``numpy.random.RandomState(seed).permutation`` (seed 2020), split ``i``
  holds rows ``[i N // splits, (i + 1) N // splits)``, softmax in float64; the logits
  are the Inception's unbiased ones (``pool3 @ W^T``, no bias, as the original TF code).
* PRDC (Naeem et al. 2020, the ``prdc`` package), with ``r_k(x)`` = distance from x to
  its k-th nearest neighbour in its own set (self excluded) and **strict** ``<``:
  precision = mean_f [exists r: d(f, r) < r_k(r)];
  recall    = mean_r [exists f: d(r, f) < r_k(f)];
  density   = (1 / k) mean_f sum_r [d(f, r) < r_k(r)];
  coverage  = mean_r [min_f d(r, f) < r_k(r)].
"""
import numpy as np
import torch

#: Tolerance on the imaginary part of ``sqrt(lambda_i(S_1 S_2))``, relative to
#: ``max(1, sqrt(max |lambda|))``; pytorch-fid raises at 1e-3 (absolute) on the
#: diagonal of its ``sqrtm``.
IMAG_TOL = 1e-3


def feature_stats(feats):
    """``(N, D)`` -> (mean (D,), covariance (D, D)) as float64 numpy arrays."""
    f = np.asarray(torch.as_tensor(feats).double().cpu().numpy())
    if f.ndim != 2 or f.shape[0] < 2:
        raise ValueError(f'features must be (N >= 2, D), got {f.shape}')
    if not np.isfinite(f).all():
        raise ValueError('features contain NaN or Inf (the feature extractor '
                         'produced non-finite values)')
    return f.mean(0), np.cov(f, rowvar=False)


def trace_sqrt_product(sigma1, sigma2, imag_tol: float = IMAG_TOL) -> float:
    """``tr((sigma1 sigma2)^{1/2})`` from the eigenvalues of ``sigma1 sigma2``.

    Raises:
        ValueError: an eigenvalue's square root has an imaginary part above
            ``imag_tol * max(1, sqrt(max |lambda|))`` (statistics not PSD).
    """
    lam = np.linalg.eigvals(sigma1.dot(sigma2)).astype('complex128')
    root = np.sqrt(lam)
    scale = max(1.0, float(np.sqrt(np.abs(lam).max(initial=0.0))))
    worst = float(np.abs(root.imag).max(initial=0.0))
    if not np.isfinite(root).all() or worst > imag_tol * scale:
        raise ValueError(
            f'FID: imaginary component {worst:.3g} in sqrt(eig(S_1 S_2)) (tolerance '
            f'{imag_tol * scale:.3g}): the covariances are not positive semi-definite '
            '(non-finite features, or statistics from different extractors?)')
    return float(root.real.sum())


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2) (torch-fidelity's
    eigenvalue form; see the module docstring)."""
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(
        np.asarray(mu2, np.float64))
    sigma1 = np.atleast_2d(np.asarray(sigma1, np.float64))
    sigma2 = np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or \
            sigma1.shape != mu1.shape * 2:
        raise ValueError(f'FID: statistics shapes differ: mu {mu1.shape} vs '
                         f'{mu2.shape}, sigma {sigma1.shape} vs {sigma2.shape}')
    diff = mu1 - mu2
    return float(
        diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) -
        2 * trace_sqrt_product(sigma1, sigma2))


def inception_score(logits, splits: int = 10, shuffle: bool = True, seed: int = 2020):
    """(mean, std) of the Inception Score of ``logits (N, K)`` over ``splits``.

    torch-fidelity's definition (see the module docstring): shuffled with
    ``RandomState(seed)`` unless ``shuffle=False``, population std.
    """
    logits = torch.as_tensor(logits).double().cpu()
    if logits.dim() != 2 or logits.shape[0] < splits or splits < 1:
        raise ValueError(f'IS: logits must be (N >= splits={splits}, K), got '
                         f'{tuple(logits.shape)}')
    n = logits.shape[0]
    if shuffle:
        perm = np.random.RandomState(seed).permutation(n)
        logits = logits[torch.from_numpy(perm)]
    p, log_p = logits.softmax(1), logits.log_softmax(1)
    scores = []
    for i in range(splits):
        lo, hi = i * n // splits, (i + 1) * n // splits
        p_c, log_p_c = p[lo:hi], log_p[lo:hi]
        log_py = p_c.mean(0, keepdim=True).log()
        scores.append(float((p_c * (log_p_c - log_py)).sum(1).mean().exp()))
    return float(np.mean(scores)), float(np.std(scores))


def _kth_nn_radius(x, k):
    d = torch.cdist(x, x)
    return d.kthvalue(k + 1, dim=1).values  # +1: the point itself (distance 0)


def prdc(real, fake, k: int = 5):
    """Precision, recall, density, coverage of ``fake (M, D)`` w.r.t. ``real (N, D)``
    (Naeem et al. 2020; strict ``<`` as in their ``prdc`` package)."""
    real = torch.as_tensor(real).double()
    fake = torch.as_tensor(fake).double()
    if min(real.shape[0], fake.shape[0]) <= k:
        raise ValueError(f'PRDC: need more than k={k} real and fake samples, got '
                         f'{real.shape[0]} / {fake.shape[0]}')
    r_real, r_fake = _kth_nn_radius(real, k), _kth_nn_radius(fake, k)
    d = torch.cdist(real, fake)  # (N, M)
    inside_real = d < r_real[:, None]
    return dict(
        precision=float(inside_real.any(0).double().mean()),
        recall=float((d < r_fake[None, :]).any(1).double().mean()),
        density=float(inside_real.double().sum(0).mean() / k),
        coverage=float((d.min(1).values < r_real).double().mean()))
