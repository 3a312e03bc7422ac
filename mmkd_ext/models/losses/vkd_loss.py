"""VKD feature loss (Miles et al., CVPR 2024, eq. 5): d(P z_s, N(z_t))."""
from mmrazor.registry import MODELS
from torch import nn

from .functional import vkd_feature_loss

__all__ = ['VKDLoss', 'vkd_feature_loss']

_LOSSES = ('smooth_l1', 'l1', 'l2')
_REDUCTIONS = ('mean', 'sum', 'none')


@MODELS.register_module()
class VKDLoss(nn.Module):
    """``loss_weight * reduce(dist(preds_S, preds_T))``.

    Args:
        loss_type (str): ``'smooth_l1'`` (VKD's default), ``'l1'`` or ``'l2'``.
        beta (float): smooth L1 threshold (> 0).
        loss_weight (float): multiplier.
        reduction (str): ``'mean'`` over all elements, ``'sum'`` or ``'none'``.

    ``forward(preds_S, preds_T)``: tensors of the same shape (any), e.g. the projected
    student (N, d_t) and the normalised teacher (N, d_t).
    """

    def __init__(self,
                 loss_type='smooth_l1',
                 beta=1.0,
                 loss_weight=1.0,
                 reduction='mean'):
        super().__init__()
        if loss_type not in _LOSSES:
            raise ValueError(f'VKDLoss: `loss_type` must be one of {_LOSSES}, got '
                             f'{loss_type!r}')
        if reduction not in _REDUCTIONS:
            raise ValueError(f'VKDLoss: `reduction` must be one of {_REDUCTIONS}, got '
                             f'{reduction!r}')
        if not beta > 0:
            raise ValueError(f'VKDLoss: `beta` must be > 0, got {beta!r}')
        self.loss_type, self.beta = loss_type, float(beta)
        self.loss_weight, self.reduction = float(loss_weight), reduction

    def forward(self, preds_S, preds_T):
        if preds_S.shape != preds_T.shape:
            raise ValueError(
                f'VKDLoss: student feature shape {tuple(preds_S.shape)} != teacher '
                f'feature shape {tuple(preds_T.shape)}; project the student to the '
                "teacher's channels (connector `out_channels`) and pool both alike.")
        if preds_S.numel() == 0 and self.reduction == 'mean':  # mean of nothing: NaN
            raise ValueError(f'VKDLoss: empty features of shape {tuple(preds_S.shape)}; '
                             'expected at least one sample / token per batch')
        return self.loss_weight * vkd_feature_loss(preds_S, preds_T, self.loss_type,
                                                   self.beta, self.reduction)
