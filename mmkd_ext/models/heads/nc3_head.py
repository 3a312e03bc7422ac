"""NC3 prototype classifier head of NCKD (our formulation, ``shared/design/nckd.md``)."""
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.heads import ClsHead
from mmpretrain.registry import MODELS

from ..utils.neural_collapse import simplex_etf
from ..utils.prototype_bank import build_prototype_bank


class PrototypeClassifier(nn.Module):
    """``logits_c = s * <normalize(x), m~_c>`` with fixed class weights (no gradient).

    ``weight`` (C, d) is the bank's normalised centred teacher prototypes, or a fixed
    simplex ETF buffer without a bank. ``s`` is a buffer or, with ``learnable_scale``,
    the only parameter. Input (N, d), output (N, C).
    """

    def __init__(self, num_classes: int, dim: int, bank=None, scale: float = 16.0,
                 learnable_scale: bool = False, etf_seed: int = 0):
        super().__init__()
        self.bank = bank
        self.num_classes, self.dim = num_classes, dim
        if bank is None:
            gen = torch.Generator().manual_seed(etf_seed)
            self.register_buffer('etf', simplex_etf(num_classes, dim, gen))
        scale_t = torch.tensor(float(scale))
        if learnable_scale:
            self.scale = nn.Parameter(scale_t)
        else:
            self.register_buffer('scale', scale_t)

    @property
    def weight(self) -> torch.Tensor:
        return self.bank.prototypes if self.bank is not None else self.etf

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight
        return self.scale * (F.normalize(x, dim=1) @ w.to(x.dtype).T)


@MODELS.register_module()
class NC3Head(ClsHead):
    """Classification head whose class weights are fixed teacher prototypes (NC3).

    ``logits_c = s * <normalize(g(h)), m~_c>`` (design note, NC3): ``g`` is the
    optional ``projector`` (e.g. ``OrthogonalConnector`` d_s -> d_t, trained), ``m~``
    the normalised centred teacher prototypes of a :class:`PrototypeBank` (a buffer,
    shared with the NC losses by the bank's ``name``) or, with ``bank=None``, a fixed
    simplex ETF. Trained with the usual ``loss`` (cross-entropy). There is no trainable
    class-weight matrix: no classifier weight gradient and no optimizer state for it.
    ``self.fc`` is the classifier, so recorders of ``head.fc`` (logit KD) and the
    NC feature hook work as with ``LinearClsHead``.

    Args:
        num_classes (int): C.
        in_channels (int): d_s, the neck output channels.
        bank (dict | PrototypeBank, optional): teacher prototypes (C, d_t).
        projector (dict, optional): connector config mapping d_s -> d_t (built from
            MMRazor's MODELS). Without it, ``in_channels`` must equal the class weight
            dimension.
        feat_dim (int, optional): ETF dimension without a bank; defaults to the
            projector's ``out_channels`` or ``in_channels``.
        scale (float): s. Defaults to 16.
        learnable_scale (bool): learn s. Defaults to False.
        etf_seed (int): seed of the ETF embedding.
        loss (dict): classification loss. Defaults to cross-entropy.
    """

    def __init__(self, num_classes: int, in_channels: int, bank=None,
                 projector: Optional[dict] = None, feat_dim: Optional[int] = None,
                 scale: float = 16.0, learnable_scale: bool = False, etf_seed: int = 0,
                 loss: dict = dict(type='CrossEntropyLoss', loss_weight=1.0),
                 init_cfg: Optional[dict] = None, **kwargs):
        super().__init__(loss=loss, init_cfg=init_cfg, **kwargs)
        if not (isinstance(num_classes, int) and num_classes >= 2):
            raise ValueError(f'NC3Head.num_classes must be an int >= 2, got {num_classes!r}')
        self.num_classes, self.in_channels = num_classes, in_channels
        bank = build_prototype_bank(bank, 'NC3Head')
        if projector is not None:
            from mmrazor.registry import MODELS as RAZOR_MODELS
            projector = dict(projector)
            projector.setdefault('_scope_', 'mmrazor')  # connectors live in MMRazor
            self.projector = RAZOR_MODELS.build(projector)
            out_dim = projector.get('out_channels', feat_dim)
        else:
            self.projector = nn.Identity()
            out_dim = in_channels
        dim = bank.feat_dim if bank is not None else (feat_dim or out_dim)
        if bank is not None and bank.num_classes != num_classes:
            raise ValueError(f'NC3Head: bank.num_classes={bank.num_classes} != '
                             f'num_classes={num_classes}')
        if out_dim is not None and out_dim != dim:
            key = 'projector.out_channels' if projector is not None else 'in_channels'
            raise ValueError(
                f'NC3Head: {key}={out_dim} does not match the class weight dimension '
                f'{dim} (bank.feat_dim / feat_dim); set projector=dict(type='
                f"'OrthogonalConnector', in_channels={in_channels}, out_channels={dim})")
        self.fc = PrototypeClassifier(num_classes, dim, bank, scale, learnable_scale,
                                      etf_seed)

    def pre_logits(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """Projected penultimate feature ``g(h)`` (N, d) of the last stage."""
        x = feats[-1] if isinstance(feats, (tuple, list)) else feats
        if x.dim() != 2 or x.shape[1] != self.in_channels:
            raise ValueError(f'NC3Head: expected (N, {self.in_channels}) features '
                             f'(in_channels), got {tuple(x.shape)}; add a pooling neck')
        return self.projector(x)

    def forward(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        return self.fc(self.pre_logits(feats))
