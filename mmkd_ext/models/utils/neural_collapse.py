"""Neural-collapse (NC) maths for NCKD, as pure, vectorised torch functions.

Notation (docs/nckd.md; Papyan, Han & Donoho, PNAS 2020): features ``h``
(N, d), integer labels ``y`` (N,), C classes, class means ``mu_c``, global mean
``mu_G`` = mean over classes of ``mu_c`` (the balanced definition), centred means
``mu_c - mu_G``. No Python loop over samples or classes and no host synchronisation
anywhere here: class statistics use ``index_add_`` / ``bincount`` or an N x N
label-equality matrix, and "fewer than two classes" cases are handled by masking.

Losses (our formulation, see the design note; the paper's equations are not public):

* :func:`nc1_align_loss` -- NC1 prototype alignment. ``z_i = normalize(g(h_i) - mu_G^T)``;
  ``'contrastive'``: ``mean_i -log softmax_c(<z_i, m~_c> / tau)[y_i]``; ``'cosine'``:
  ``mean_i (1 - <z_i, m~_{y_i}>)``, with ``m~_c = normalize(mu_c^T - mu_G^T)``.
* :func:`nc2_structure_loss` -- NC2 ETF-structure transfer over the k classes of the
  batch: ``||G^S - G^T||_F^2 / k^2`` with ``G = M~ M~^T`` the cosine Gram matrices of
  the class means, each set centred by its own mean over those k classes.

Metrics (:func:`nc_metrics`): NC1 = tr(Sigma_W pinv(Sigma_B)) / C, NC2 equinorm /
equiangularity / max-angle / ETF error, NC3 self-duality and mean cosine.
"""
from typing import Dict, Optional

import torch
import torch.nn.functional as F

__all__ = [
    'check_labels', 'class_means', 'per_sample_class_means', 'centered_normalized',
    'simplex_etf', 'nc1_align_loss', 'nc2_structure_loss', 'nc_metrics'
]


def check_labels(labels: torch.Tensor, num_samples: int, key: str = 'labels'):
    """Validate integer class labels of shape (N,) without a host sync.

    Raises:
        TypeError: not a tensor, or soft (float / one-hot) targets such as those of
            Mixup / CutMix batch augmentations.
        ValueError: wrong shape.
    """
    if not isinstance(labels, torch.Tensor):
        raise TypeError(f'{key}: expected a tensor of class indices, got '
                        f'{type(labels).__name__}')
    if labels.is_floating_point() or labels.dtype == torch.bool:
        raise TypeError(
            f'{key}: expected integer class indices of shape (N,), got a '
            f'{labels.dtype} tensor of shape {tuple(labels.shape)} (soft targets '
            'from Mixup/CutMix batch augmentations are not supported by the NC '
            'losses).')
    if labels.dim() != 1 or labels.numel() != num_samples:
        raise ValueError(f'{key}: expected shape ({num_samples},) to match the '
                         f'features, got {tuple(labels.shape)}')
    return labels


def class_means(feats: torch.Tensor, labels: torch.Tensor, num_classes: int):
    """Per-class sums / counts by ``index_add_``.

    Args:
        feats: (N, d). labels: (N,) int64 in [0, C).

    Returns:
        tuple: ``means`` (C, d) (zero rows for absent classes), ``counts`` (C,) in
        the features' dtype.
    """
    sums = feats.new_zeros(num_classes, feats.shape[1]).index_add_(0, labels, feats)
    counts = torch.bincount(labels, minlength=num_classes).to(feats.dtype)
    return sums / counts.clamp(min=1)[:, None], counts


def per_sample_class_means(feats: torch.Tensor, labels: torch.Tensor):
    """Mean of each sample's class within the batch, via the label-equality matrix.

    ``A_ij = [y_i == y_j]``, ``n_i = sum_j A_ij``, returns ``(A / n) feats`` (N, d)
    and ``n`` (N,). Cost O(N^2 d), independent of the number of classes (no C x d
    buffer, no ``unique``), so it also fits 1000-class batches of 64.
    """
    same = (labels[:, None] == labels[None, :]).to(feats.dtype)
    n = same.sum(1)
    return (same / n[:, None]) @ feats, n


def centered_normalized(means: torch.Tensor,
                        valid: Optional[torch.Tensor] = None,
                        eps: float = 1e-12):
    """``normalize(mu_c - mu_G)`` rows, ``mu_G`` the mean over the valid rows.

    Args:
        means: (C, d). valid: optional (C,) bool mask of rows that hold a mean
            (others give zero rows and do not enter ``mu_G``).

    Returns:
        tuple: (C, d) centred unit rows and ``mu_G`` (d,).
    """
    if valid is None:
        mu_g = means.mean(0)
        return F.normalize(means - mu_g, dim=1, eps=eps), mu_g
    w = valid.to(means.dtype)
    mu_g = (means * w[:, None]).sum(0) / w.sum().clamp(min=1)
    return F.normalize(means - mu_g, dim=1, eps=eps) * w[:, None], mu_g


def simplex_etf(num_classes: int,
                dim: int,
                generator: Optional[torch.Generator] = None,
                dtype=torch.float32):
    """A simplex equiangular tight frame: (C, d) unit rows, pairwise cosine -1/(C-1).

    Built in the (C-1)-dim complement of the all-ones vector,
    ``E = sqrt(C/(C-1)) (I - 11^T/C) B`` with B an orthonormal basis of 1^perp, then
    embedded in R^d by a random (seeded) isometry. Needs ``d >= C - 1``.
    """
    if num_classes < 2:
        raise ValueError(f'simplex_etf: num_classes must be >= 2, got {num_classes}')
    if dim < num_classes - 1:
        raise ValueError(f'simplex_etf: a {num_classes}-class simplex ETF needs '
                         f'dim >= {num_classes - 1}, got dim={dim}')
    c = num_classes
    centering = torch.eye(c, dtype=torch.float64) - 1.0 / c
    basis, _ = torch.linalg.qr(centering[:, :c - 1])  # orthonormal basis of 1^perp
    etf = (c / (c - 1))**0.5 * centering @ basis  # (C, C-1), unit rows
    rand = torch.randn(dim, c - 1, generator=generator, dtype=torch.float64)
    iso, _ = torch.linalg.qr(rand)  # (d, C-1) orthonormal columns
    return (etf @ iso.T).to(dtype)


def nc1_align_loss(feats: torch.Tensor,
                   labels: torch.Tensor,
                   prototypes: torch.Tensor,
                   global_mean: Optional[torch.Tensor] = None,
                   mode: str = 'contrastive',
                   temperature: float = 0.1):
    """NC1 prototype alignment (design note, NC1).

    Args:
        feats: (N, d) projected student features ``g(h^S)``.
        labels: (N,) class indices.
        prototypes: (C, d) ``m~`` = normalised centred teacher prototypes.
        global_mean: (d,) ``mu_G^T`` subtracted before normalising; None: no centring.
        mode: ``'contrastive'`` (InfoNCE over prototypes at ``temperature``) or
            ``'cosine'``.

    Returns:
        Tensor: scalar loss.
    """
    if global_mean is not None:
        feats = feats - global_mean.to(feats.dtype)
    z = F.normalize(feats, dim=1)
    protos = prototypes.to(z.dtype)
    if mode == 'contrastive':
        return F.cross_entropy(z @ protos.T / temperature, labels)
    if mode == 'cosine':
        return (1 - (z * protos[labels]).sum(1)).mean()
    raise ValueError(f"nc1 mode must be 'contrastive' or 'cosine', got {mode!r}")


def _centered_gram(per_sample_means: torch.Tensor, weights: torch.Tensor,
                   k: torch.Tensor):
    """Cosine Gram (N, N) of per-sample class means centred over the present classes.

    ``weights`` = 1 / n_{y_i}, so that ``sum_i w_i M_i / k`` is the mean over classes.
    """
    mu = (weights[:, None] * per_sample_means).sum(0) / k
    m = F.normalize(per_sample_means - mu, dim=1)
    return m @ m.T


def nc2_structure_loss(feats_s: torch.Tensor,
                       labels: torch.Tensor,
                       feats_t: Optional[torch.Tensor] = None,
                       teacher_means: Optional[torch.Tensor] = None):
    """NC2 ETF-structure transfer: ``||G^S - G^T||_F^2 / k^2`` over the k batch classes.

    Computed per sample without selecting the present classes (no ``unique``, no
    sync): with ``M_i`` the class mean of sample i and ``w_i = 1/n_{y_i}``,
    ``sum_ij w_i w_j (G^S_ij - G^T_ij)^2`` equals the sum over class pairs. A batch
    with fewer than two classes gives exactly 0 (masked, finite gradients).

    Args:
        feats_s: (N, d) projected student features.
        labels: (N,) class indices.
        feats_t: (N, d_t) teacher features of the same batch (teacher means from the
            batch), or
        teacher_means: (C, d_t) stored teacher prototypes (teacher means from the bank).
    """
    ms, n = per_sample_class_means(feats_s, labels)
    w = 1.0 / n
    k = w.sum()
    if teacher_means is not None:
        mt = teacher_means.to(feats_s.dtype)[labels]
    elif feats_t is not None:
        mt, _ = per_sample_class_means(feats_t.to(feats_s.dtype), labels)
    else:
        raise ValueError('nc2_structure_loss needs feats_t or teacher_means')
    g_s = _centered_gram(ms, w, k)
    with torch.no_grad():
        g_t = _centered_gram(mt.detach(), w, k)
    loss = (w[:, None] * w[None, :] * (g_s - g_t).square()).sum() / k.square()
    return loss * (k > 1.5).to(loss.dtype)


@torch.no_grad()
def nc_metrics(feats: torch.Tensor,
               labels: torch.Tensor,
               weight: Optional[torch.Tensor] = None,
               num_classes: Optional[int] = None) -> Dict[str, float]:
    """Neural-collapse metrics of a split (design note, "NC metrics"), in float64.

    Args:
        feats: (N, d) penultimate features. labels: (N,) class indices.
        weight: (C, d) classifier weights (NC2 ETF error and NC3 need it).
        num_classes: C; defaults to the weight's rows or ``labels.max() + 1``.
            Classes without samples are left out of every statistic.

    Returns:
        dict: ``nc1``, ``nc2_equinorm``, ``nc2_equiangular``, ``nc2_maxangle``,
        ``nc2_etf_error`` (with weight), ``nc3_self_duality``, ``nc3_mean_cosine``
        (with weight).
    """
    feats = feats.detach().to(torch.float64)
    labels = labels.long()
    if feats.dim() != 2 or labels.shape != feats.shape[:1]:
        raise ValueError(f'nc_metrics: expected feats (N, d) and labels (N,), got '
                         f'{tuple(feats.shape)} and {tuple(labels.shape)}')
    if num_classes is None:
        num_classes = weight.shape[0] if weight is not None else int(labels.max()) + 1
    if labels.numel() and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f'nc_metrics: labels must lie in [0, {num_classes})')
    all_means, counts = class_means(feats, labels, num_classes)
    present = counts > 0
    c = int(present.sum())
    if c < 2:
        raise ValueError(f'nc_metrics: need samples of at least 2 classes, got {c}')
    within = feats - all_means[labels]  # (N, d) deviations from the class means
    means = all_means[present]
    centred = means - means.mean(0)  # (C', d), mu_G = mean of the class means
    # tr(Sigma_W pinv(Sigma_B)) with Sigma_W = X^T X / N, Sigma_B = M^T M / C:
    # pinv(M^T M) = pinv(M) pinv(M)^T, so the trace is C ||X pinv(M)||_F^2 / N and
    # NC1 = ||X pinv(M)||_F^2 / N (no d x d matrix).
    pinv_m = torch.linalg.pinv(centred)  # (d, C')
    nc1 = (within @ pinv_m).square().sum() / feats.shape[0]
    norms = centred.norm(dim=1)
    cos = (centred / norms[:, None]) @ (centred / norms[:, None]).T
    off = ~torch.eye(c, dtype=torch.bool)
    out = dict(
        nc1=float(nc1),
        nc2_equinorm=float(norms.std() / norms.mean()),
        nc2_equiangular=float(cos[off].std()),
        nc2_maxangle=float((cos[off] + 1.0 / (c - 1)).abs().mean()))
    if weight is not None:
        w = weight.detach().to(torch.float64)
        if w.shape != (num_classes, feats.shape[1]):
            raise ValueError(f'nc_metrics: classifier weight must be ({num_classes}, '
                             f'{feats.shape[1]}), got {tuple(w.shape)}')
        w = w[present]
        wm = w @ centred.T  # (C', C')
        target = (torch.eye(c, dtype=wm.dtype) - 1.0 / c) / (c - 1)**0.5
        out['nc2_etf_error'] = float((wm / wm.norm() - target).norm())
        out['nc3_self_duality'] = float(
            (w / w.norm() - centred / centred.norm()).square().sum())
        out['nc3_mean_cosine'] = float(F.cosine_similarity(w, centred, dim=1).mean())
    return out
