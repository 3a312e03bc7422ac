"""NC3 prototype classifier head of NCKD (our formulation, ``shared/design/nckd.md``)."""
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.heads import ClsHead
from mmpretrain.registry import MODELS

from ..utils.neural_collapse import simplex_etf
from ..utils.prototype_bank import attach_bank
from ..utils.razor_build import build_razor_module

CLASS_WEIGHTS = ('prototypes', 'etf')


class PrototypeClassifier(nn.Module):
    """``logits_c = s * <normalize(x), m~_c>`` with fixed class weights (no gradient).

    ``weight`` (C, d) is

    * ``class_weights='prototypes'``: the normalised centred teacher prototypes ``m~``
      of the attached :class:`PrototypeBank` while one is attached (training), and the
      ``prototypes`` buffer otherwise. The buffer is written from the bank whenever the
      module is saved, so a student checkpoint carries its class weights and the head
      works alone (plain MMPretrain evaluation) without any bank.
    * ``class_weights='etf'``: a fixed simplex ETF buffer ``etf``.

    ``s`` is a buffer or, with ``learnable_scale``, the only parameter. Input (N, d),
    output (N, C).
    """

    def __init__(self, num_classes: int, dim: int, class_weights: str = 'prototypes',
                 bank=None, scale: float = 16.0, learnable_scale: bool = False,
                 etf_seed: int = 0):
        super().__init__()
        self.num_classes, self.dim = num_classes, dim
        self.class_weights = class_weights
        if class_weights == 'etf':
            gen = torch.Generator().manual_seed(etf_seed)
            self.register_buffer('etf', simplex_etf(num_classes, dim, gen))
        else:
            self.register_buffer('prototypes', torch.zeros(num_classes, dim))
        attach_bank(self, bank, 'NC3Head')
        self._weight_checked = False
        scale_t = torch.tensor(float(scale))
        if learnable_scale:
            self.scale = nn.Parameter(scale_t)
        else:
            self.register_buffer('scale', scale_t)

    def set_bank(self, bank):
        """Use ``bank``'s prototypes (a reference; the bank's owner saves it)."""
        if self.class_weights != 'prototypes':
            raise ValueError("NC3Head: class_weights='etf' takes no PrototypeBank")
        if (bank.num_classes, bank.feat_dim) != (self.num_classes, self.dim):
            raise ValueError(
                f'NC3Head: the PrototypeBank holds (num_classes, feat_dim) = '
                f'({bank.num_classes}, {bank.feat_dim}) but the head classifies '
                f'{self.num_classes} classes of dimension {self.dim} (num_classes, '
                'projector.out_channels / feat_dim)')
        attach_bank(self, bank, 'NC3Head')

    @property
    def weight(self) -> torch.Tensor:
        if self.class_weights == 'etf':
            return self.etf
        if self.bank is not None:
            return self.bank.prototypes
        return self.prototypes

    def _check_weight(self):
        """Once: prototype class weights without a bank must have been loaded."""
        if self._weight_checked or self.class_weights != 'prototypes' \
                or self.bank is not None:
            return
        if not bool(self.prototypes.abs().sum() > 0):
            raise RuntimeError(
                "NC3Head(class_weights='prototypes') has neither a PrototypeBank nor "
                'loaded prototypes: train it inside NCKDDistiller (model.distiller.bank '
                'is handed to the head), give the head a `bank`, or load a checkpoint '
                'that holds head.fc.prototypes')
        self._weight_checked = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_weight()
        w = self.weight
        return self.scale * (F.normalize(x, dim=1) @ w.to(x.dtype).T)

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        if self.class_weights == 'prototypes' and self.bank is not None:
            with torch.no_grad():
                self.prototypes.copy_(self.bank.prototypes)
        super()._save_to_state_dict(destination, prefix, keep_vars)

    def _load_from_state_dict(self, *args, **kwargs):
        super()._load_from_state_dict(*args, **kwargs)
        self._weight_checked = False


@MODELS.register_module()
class NC3Head(ClsHead):
    """Classification head whose class weights are fixed teacher prototypes (NC3).

    ``logits_c = s * <normalize(g(h)), m~_c>`` (design note, NC3): ``g`` is the
    optional ``projector`` (e.g. ``OrthogonalConnector`` d_s -> d_t, trained), ``m~``
    the normalised centred teacher prototypes of a :class:`PrototypeBank` or, with
    ``class_weights='etf'``, a fixed simplex ETF. Trained with the usual ``loss``
    (cross-entropy). There is no trainable class-weight matrix: no classifier weight
    gradient and no optimizer state for it. ``self.fc`` is the classifier, so
    recorders of ``head.fc`` (logit KD) and the NC feature hook work as with
    ``LinearClsHead``.

    Where the prototypes come from:

    * in distillation, :class:`~mmkd_ext.models.distillers.NCKDDistiller` hands the
      bank it owns (``model.distiller.bank``) to the head when the algorithm is built
      (:meth:`set_bank`), so the head config has no ``bank``;
    * alone (e.g. plain MMPretrain evaluation of a converted student checkpoint), the
      ``head.fc.prototypes`` buffer of the checkpoint is used;
    * ``bank`` given here: a config dict builds a bank the head owns (e.g. a
      ``mode='file'`` bank of prototypes computed once), a bank module is referenced.

    Args:
        num_classes (int): C.
        in_channels (int): d_s, the neck output channels.
        bank (dict | PrototypeBank, optional): teacher prototypes (C, d_t).
        class_weights (str, optional): ``'prototypes'`` (teacher prototypes) or
            ``'etf'`` (fixed simplex ETF). Defaults to ``'prototypes'`` when ``bank``
            is given, else ``'etf'``; NCKD configs set ``'prototypes'`` explicitly.
        projector (dict, optional): connector config mapping d_s -> d_t (built from
            MMRazor's MODELS). Without it, ``in_channels`` must equal the class weight
            dimension.
        feat_dim (int, optional): class weight dimension without a bank; defaults to
            the projector's ``out_channels`` or ``in_channels``.
        scale (float): s. Defaults to 16.
        learnable_scale (bool): learn s. Defaults to False.
        etf_seed (int): seed of the ETF embedding.
        loss (dict): classification loss. Defaults to cross-entropy.
    """

    def __init__(self, num_classes: int, in_channels: int, bank=None,
                 class_weights: Optional[str] = None,
                 projector: Optional[dict] = None, feat_dim: Optional[int] = None,
                 scale: float = 16.0, learnable_scale: bool = False, etf_seed: int = 0,
                 loss: dict = dict(type='CrossEntropyLoss', loss_weight=1.0),
                 init_cfg: Optional[dict] = None, **kwargs):
        super().__init__(loss=loss, init_cfg=init_cfg, **kwargs)
        if not (isinstance(num_classes, int) and num_classes >= 2):
            raise ValueError(f'NC3Head.num_classes must be an int >= 2, got {num_classes!r}')
        if class_weights is None:
            class_weights = 'etf' if bank is None else 'prototypes'
        if class_weights not in CLASS_WEIGHTS:
            raise ValueError(f'NC3Head.class_weights must be one of {CLASS_WEIGHTS}, '
                             f'got {class_weights!r}')
        if class_weights == 'etf' and bank is not None:
            raise ValueError("NC3Head: class_weights='etf' takes no `bank`")
        self.num_classes, self.in_channels = num_classes, in_channels
        bank_dim = None
        if bank is not None:
            bank_dim = bank.feat_dim if isinstance(bank, nn.Module) else bank.get(
                'feat_dim')
            bank_classes = bank.num_classes if isinstance(bank, nn.Module) else \
                bank.get('num_classes')
            if bank_classes != num_classes:
                raise ValueError(f'NC3Head: bank.num_classes={bank_classes} != '
                                 f'num_classes={num_classes}')
        if projector is not None:
            projector = dict(projector)
            self.projector = build_razor_module(projector)  # connectors: MMRazor's
            out_dim = projector.get('out_channels', feat_dim)
        else:
            self.projector = nn.Identity()
            out_dim = in_channels
        dim = bank_dim or feat_dim or out_dim
        if out_dim is not None and out_dim != dim:
            key = 'projector.out_channels' if projector is not None else 'in_channels'
            raise ValueError(
                f'NC3Head: {key}={out_dim} does not match the class weight dimension '
                f'{dim} (bank.feat_dim / feat_dim); set projector=dict(type='
                f"'OrthogonalConnector', in_channels={in_channels}, out_channels={dim})")
        self.fc = PrototypeClassifier(num_classes, dim, class_weights, bank, scale,
                                      learnable_scale, etf_seed)

    def set_bank(self, bank):
        """Take the teacher prototypes from ``bank`` (called by NCKDDistiller)."""
        self.fc.set_bank(bank)

    def pre_logits(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """Projected penultimate feature ``g(h)`` (N, d) of the last stage."""
        x = feats[-1] if isinstance(feats, (tuple, list)) else feats
        if x.dim() != 2 or x.shape[1] != self.in_channels:
            raise ValueError(f'NC3Head: expected (N, {self.in_channels}) features '
                             f'(in_channels), got {tuple(x.shape)}; add a pooling neck')
        return self.projector(x)

    def forward(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        return self.fc(self.pre_logits(feats))
