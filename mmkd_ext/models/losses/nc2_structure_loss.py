"""NC2 ETF-structure transfer loss of NCKD.

Our formulation of docs/nckd.md.
"""
from typing import Optional

import torch
import torch.nn as nn
from mmrazor.registry import MODELS

from ..utils.neural_collapse import check_labels, nc2_structure_loss
from ..utils.prototype_bank import attach_bank


@MODELS.register_module()
class NC2StructureLoss(nn.Module):
    """Match the between-class geometry of the student's batch class means to the
    teacher's.

    For the k classes of the batch: ``M^S`` = class means of ``g(h^S)``, ``M^T`` =
    teacher class means (``teacher_means='batch'``: from ``preds_T`` of the same
    batch; ``'bank'``: the stored prototypes); each set is centred by its own mean over
    those k classes and row-normalised, ``G = M~ M~^T``, and
    ``L = ||G^S - G^T||_F^2 / k^2``. ``G^T`` carries no gradient. A batch with fewer
    than two classes gives 0 (still connected to the graph, finite gradients).
    Invariant to any orthogonal map of the student features.

    Args:
        teacher_means (str): ``'batch'`` (default) or ``'bank'``.
        bank (dict | PrototypeBank, optional): needed for ``teacher_means='bank'``;
            in an :class:`~mmkd_ext.models.distillers.NCKDDistiller` the distiller
            hands over its bank (leave it out).
        loss_weight (float): multiplier.

    Forward:
        preds_S: (N, d) projected student features. labels: (N,) int class indices.
        preds_T: (N, d_t) teacher features (``'batch'`` mode); d and d_t may differ.
    """

    #: NCKDDistiller hands its PrototypeBank to losses that declare this.
    uses_prototype_bank = True

    def __init__(self, teacher_means: str = 'batch', bank=None, loss_weight: float = 1.0):
        super().__init__()
        if teacher_means not in ('batch', 'bank'):
            raise ValueError("NC2StructureLoss.teacher_means must be 'batch' or 'bank', "
                             f'got {teacher_means!r}')
        if teacher_means == 'bank' and bank is None:
            raise ValueError("NC2StructureLoss: teacher_means='bank' needs a bank config "
                             '(or use the loss in NCKDDistiller with '
                             'model.distiller.bank)')
        attach_bank(self, bank, 'NC2StructureLoss')
        self.teacher_means, self.loss_weight = teacher_means, loss_weight

    def forward(self,
                preds_S: torch.Tensor,
                labels: torch.Tensor,
                preds_T: Optional[torch.Tensor] = None) -> torch.Tensor:
        if preds_S.dim() != 2:
            raise ValueError(f'NC2StructureLoss: preds_S must be (N, d), got '
                             f'{tuple(preds_S.shape)}')
        labels = check_labels(labels, preds_S.shape[0], 'NC2StructureLoss labels').long()
        if labels.numel() == 0:
            raise ValueError('NC2StructureLoss: empty batch (no labels); expected at '
                             'least one sample')
        if self.teacher_means == 'bank':
            self.bank.check_filled('NC2StructureLoss')
            loss = nc2_structure_loss(preds_S, labels, teacher_means=self.bank.means)
        else:
            if preds_T is None:
                raise ValueError("NC2StructureLoss(teacher_means='batch') needs preds_T "
                                 'in its loss_forward_mappings')
            if preds_T.dim() != 2 or preds_T.shape[0] != preds_S.shape[0]:
                raise ValueError(f'NC2StructureLoss: preds_T must be ({preds_S.shape[0]}'
                                 f', d_t), got {tuple(preds_T.shape)}')
            loss = nc2_structure_loss(preds_S, labels, feats_t=preds_T)
        return self.loss_weight * loss
