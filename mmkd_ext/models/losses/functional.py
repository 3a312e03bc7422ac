"""Pure-torch loss functions (no OpenMMLab imports; the registered losses wrap them)."""
import torch
import torch.nn.functional as F

__all__ = ['vkd_feature_loss']


def vkd_feature_loss(preds_S, preds_T, loss_type='smooth_l1', beta=1.0, reduction='mean'):
    """VKD's feature distance (Miles et al., CVPR 2024, eq. 5), element-wise, reduced.

    Smooth L1 (Huber with ``beta``: 0.5 d^2 / beta if |d| < beta else |d| - 0.5 beta),
    L1 |d| or L2 d^2, ``d = preds_S - preds_T`` for tensors of the same shape (any),
    e.g. the projected student (N, d_t) and the normalised teacher (N, d_t).
    ``reduction``: ``'mean'`` over all elements, ``'sum'`` or ``'none'``. Computed in
    float32 (or the inputs' wider dtype).
    """
    s = preds_S.float() if preds_S.dtype in (torch.float16, torch.bfloat16) else preds_S
    t = preds_T.to(s.dtype)
    if loss_type == 'smooth_l1':
        return F.smooth_l1_loss(s, t, beta=beta, reduction=reduction)
    if loss_type == 'l1':
        return F.l1_loss(s, t, reduction=reduction)
    if loss_type == 'l2':
        return F.mse_loss(s, t, reduction=reduction)
    raise ValueError(f'vkd_feature_loss: `loss_type` must be "smooth_l1", "l1" or "l2", '
                     f'got {loss_type!r}')
