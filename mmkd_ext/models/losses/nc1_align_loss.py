"""NC1 prototype-alignment loss of NCKD (our formulation, docs/nckd.md)."""
from typing import Optional

import torch
import torch.nn as nn
from mmrazor.registry import MODELS

from ..utils.neural_collapse import check_labels, nc1_align_loss
from ..utils.prototype_bank import attach_bank


@MODELS.register_module()
class NC1AlignLoss(nn.Module):
    """Pull each projected student feature onto its class's teacher prototype.

    With ``m~_c = normalize(mu_c^T - mu_G^T)`` from the :class:`PrototypeBank` and
    ``z_i = normalize(g(h_i^S) - mu_G^T)``:

    * ``mode='contrastive'`` (default):
      ``L = mean_i -log softmax_c(<z_i, m~_c>/tau)[y_i]``
    * ``mode='cosine'``: ``L = mean_i (1 - <z_i, m~_{y_i}>)``

    Classes the bank has not seen yet have zero prototypes (logit 0).

    Args:
        bank (dict | PrototypeBank): the teacher prototype bank. In an
            :class:`~mmkd_ext.models.distillers.NCKDDistiller` leave it out: the
            distiller hands over the one bank it owns (``model.distiller.bank``). A
            config dict builds a bank this loss owns; a bank module is referenced.
        mode (str): ``'contrastive'`` or ``'cosine'``.
        temperature (float): tau of the contrastive form. Defaults to 0.1.
        center (bool): subtract ``mu_G^T`` before normalising (design default True).
        loss_weight (float): multiplier.

    Forward:
        preds_S: (N, d_t) projected student features ``g(h^S)`` (e.g. the output of
            an OrthogonalConnector or of ``NC3Head.projector``).
        labels: (N,) int class indices (e.g. a ``ModuleInputs`` recorder on
            ``head.loss_module`` with ``data_idx=1``).
    """

    #: NCKDDistiller hands its PrototypeBank to losses that declare this.
    uses_prototype_bank = True

    def __init__(self,
                 bank=None,
                 mode: str = 'contrastive',
                 temperature: float = 0.1,
                 center: bool = True,
                 loss_weight: float = 1.0):
        super().__init__()
        if mode not in ('contrastive', 'cosine'):
            raise ValueError(f"NC1AlignLoss.mode must be 'contrastive' or 'cosine', "
                             f'got {mode!r}')
        if not temperature > 0:
            raise ValueError(f'NC1AlignLoss.temperature must be > 0, got {temperature}')
        if bank is None:
            raise ValueError('NC1AlignLoss.bank is required: a PrototypeBank config, or '
                             'use the loss in NCKDDistiller with model.distiller.bank')
        attach_bank(self, bank, 'NC1AlignLoss')
        self.mode, self.temperature = mode, temperature
        self.center, self.loss_weight = center, loss_weight

    def forward(self, preds_S: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if preds_S.dim() != 2 or preds_S.shape[1] != self.bank.feat_dim:
            raise ValueError(
                f'NC1AlignLoss: preds_S must be (N, {self.bank.feat_dim}) projected '
                f'student features (bank.feat_dim), got {tuple(preds_S.shape)}; '
                'project the student with a connector first')
        labels = check_labels(labels, preds_S.shape[0], 'NC1AlignLoss labels').long()
        if labels.numel() == 0:
            raise ValueError('NC1AlignLoss: empty batch (no labels); expected at least '
                             'one sample')
        if not getattr(self, '_range_checked', False):  # one host sync, first call only
            if bool((labels.min() < 0) | (labels.max() >= self.bank.num_classes)):
                raise ValueError(
                    f'NC1AlignLoss labels must lie in [0, {self.bank.num_classes}) '
                    f'(bank.num_classes), got {int(labels.min())}..{int(labels.max())}')
            self._range_checked = True
        self.bank.check_filled('NC1AlignLoss')
        gmean: Optional[torch.Tensor] = self.bank.global_mean if self.center else None
        loss = nc1_align_loss(preds_S, labels, self.bank.prototypes, gmean, self.mode,
                              self.temperature)
        return self.loss_weight * loss
