"""GAN evaluation formulas on feature matrices (pure functions).

* FID (Heusel et al. 2017): ``||mu_r - mu_f||^2 + tr(S_r + S_f - 2 (S_r S_f)^{1/2})``,
  covariances with 1/(N-1), matrix square root by ``scipy.linalg.sqrtm`` in float64
  (``eps * I`` added to both covariances if the product is singular).
* IS (Salimans et al. 2016): ``exp(E_x KL(p(y|x) || p(y)))`` per split; mean and std
  over ``splits`` consecutive splits.
* PRDC (Naeem et al. 2020), with ``r_k(x)`` = distance from x to its k-th nearest
  neighbour in its own set (self excluded):
  precision = mean_f [exists r: d(f, r) <= r_k(r)];
  recall    = mean_r [exists f: d(r, f) <= r_k(f)];
  density   = (1 / k) mean_f sum_r [d(f, r) <= r_k(r)];
  coverage  = mean_r [min_f d(r, f) <= r_k(r)].
"""
import numpy as np
import torch


def feature_stats(feats):
    """``(N, D)`` -> (mean (D,), covariance (D, D)) as float64 numpy arrays."""
    f = np.asarray(torch.as_tensor(feats).double().cpu().numpy())
    if f.ndim != 2 or f.shape[0] < 2:
        raise ValueError(f'features must be (N >= 2, D), got {f.shape}')
    return f.mean(0), np.cov(f, rowvar=False)


def frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2)."""
    from scipy import linalg
    mu1, mu2 = np.atleast_1d(mu1), np.atleast_1d(mu2)
    sigma1, sigma2 = np.atleast_2d(sigma1), np.atleast_2d(sigma2)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError(f'FID: statistics shapes differ: {mu1.shape} vs {mu2.shape}')
    diff = mu1 - mu2
    covmean, _ = linalg.sqrtm(sigma1.dot(sigma2), disp=False)
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    covmean = covmean.real
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) -
                 2 * np.trace(covmean))


def inception_score(logits, splits: int = 10):
    """(mean, std) of the Inception Score of ``logits (N, K)`` over ``splits``."""
    logits = torch.as_tensor(logits).double()
    if logits.dim() != 2 or logits.shape[0] < splits:
        raise ValueError(f'IS: logits must be (N >= splits={splits}, K), got '
                         f'{tuple(logits.shape)}')
    scores = []
    for part in logits.chunk(splits):
        log_p = part.log_softmax(1)
        log_py = log_p.exp().mean(0).log()
        kl = (log_p.exp() * (log_p - log_py)).sum(1).mean()
        scores.append(kl.exp())
    scores = torch.stack(scores)
    return float(scores.mean()), float(scores.std(unbiased=False))


def _kth_nn_radius(x, k):
    d = torch.cdist(x, x)
    return d.kthvalue(k + 1, dim=1).values  # +1: the point itself (distance 0)


def prdc(real, fake, k: int = 5):
    """Precision, recall, density, coverage of ``fake (M, D)`` w.r.t. ``real (N, D)``."""
    real = torch.as_tensor(real).double()
    fake = torch.as_tensor(fake).double()
    if min(real.shape[0], fake.shape[0]) <= k:
        raise ValueError(f'PRDC: need more than k={k} real and fake samples, got '
                         f'{real.shape[0]} / {fake.shape[0]}')
    r_real, r_fake = _kth_nn_radius(real, k), _kth_nn_radius(fake, k)
    d = torch.cdist(real, fake)  # (N, M)
    inside_real = d <= r_real[:, None]
    return dict(
        precision=float(inside_real.any(0).double().mean()),
        recall=float((d <= r_fake[None, :]).any(1).double().mean()),
        density=float(inside_real.double().sum(0).mean() / k),
        coverage=float((d.min(1).values <= r_real).double().mean()))
