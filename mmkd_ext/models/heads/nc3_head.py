"""NC3 prototype classifier head of NCKD (our formulation, docs/nckd.md)."""
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

    def __init__(self,
                 num_classes: int,
                 dim: int,
                 class_weights: str = 'prototypes',
                 bank=None,
                 scale: float = 16.0,
                 learnable_scale: bool = False,
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


def _width(value, key):
    """``value`` when it is None (inferred) or a positive int (not a bool)."""
    if value is None or (type(value) is int and value > 0):
        return value
    raise ValueError(f'NC3Head: {key} must be a positive int or None (inferred), '
                     f'got {value!r}')


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
    ``LinearClsHead``. Input: a tuple of features whose last is (N, d_s) (a pooling
    neck's output); output (N, C).

    Widths: ``in_channels`` (d_s), ``projector.in_channels`` / ``out_channels`` and
    the class-weight dimension may be left out (None). Inside a distillation algorithm
    :class:`~mmkd_ext.models.distillers.NCKDDistiller` infers them when the algorithm
    is built: d_s from the student's features that reach the head (one dry forward),
    d_t from the prototype bank (``model.distiller.bank.feat_dim``, itself inferred
    from the teacher), then builds the projector and classifier
    (:meth:`resolve_widths`); given values are checked there, with errors naming the
    config key. Built alone (plain MMPretrain) the head needs them given:
    :func:`mmkd_ext.models.distillers.student_cfg_with_widths` writes the inferred
    values into a copy of the student config.

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
        in_channels (int, optional): d_s, the neck output channels. None: inferred.
        bank (dict | PrototypeBank, optional): teacher prototypes (C, d_t).
        class_weights (str, optional): ``'prototypes'`` (teacher prototypes) or
            ``'etf'`` (fixed simplex ETF). Defaults to ``'prototypes'`` when ``bank``
            is given, else ``'etf'``; NCKD configs set ``'prototypes'`` explicitly.
        projector (dict, optional): connector config mapping d_s -> d_t (built from
            MMRazor's MODELS); its ``in_channels`` / ``out_channels`` may be left out.
            Without it, ``in_channels`` must equal the class weight dimension.
        feat_dim (int, optional): class weight dimension without a bank; defaults to
            the projector's ``out_channels`` or ``in_channels``.
        scale (float): s. Defaults to 16.
        learnable_scale (bool): learn s. Defaults to False.
        etf_seed (int): seed of the ETF embedding.
        loss (dict): classification loss. Defaults to cross-entropy.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: Optional[int] = None,
                 bank=None,
                 class_weights: Optional[str] = None,
                 projector: Optional[dict] = None,
                 feat_dim: Optional[int] = None,
                 scale: float = 16.0,
                 learnable_scale: bool = False,
                 etf_seed: int = 0,
                 loss: dict = dict(type='CrossEntropyLoss', loss_weight=1.0),
                 init_cfg: Optional[dict] = None,
                 **kwargs):
        super().__init__(loss=loss, init_cfg=init_cfg, **kwargs)
        if not (isinstance(num_classes, int) and num_classes >= 2):
            raise ValueError(
                f'NC3Head.num_classes must be an int >= 2, got {num_classes!r}')
        if class_weights is None:
            class_weights = 'etf' if bank is None else 'prototypes'
        if class_weights not in CLASS_WEIGHTS:
            raise ValueError(f'NC3Head.class_weights must be one of {CLASS_WEIGHTS}, '
                             f'got {class_weights!r}')
        if class_weights == 'etf' and bank is not None:
            raise ValueError("NC3Head: class_weights='etf' takes no `bank`")
        self.num_classes, self.class_weights = num_classes, class_weights
        self.in_channels = _width(in_channels, 'in_channels')
        self.feat_dim = _width(feat_dim, 'feat_dim')
        self._bank, self._bank_dim = bank, None
        if bank is not None:
            self._bank_dim = bank.feat_dim if isinstance(
                bank, nn.Module) else bank.get('feat_dim')
            bank_classes = bank.num_classes if isinstance(bank, nn.Module) else \
                bank.get('num_classes')
            if bank_classes != num_classes:
                raise ValueError(f'NC3Head: bank.num_classes={bank_classes} != '
                                 f'num_classes={num_classes}')
        self._projector_cfg = None if projector is None else dict(projector)
        if projector is not None:
            for field in ('in_channels', 'out_channels'):
                _width(projector.get(field), f'projector.{field}')
            p_in = projector.get('in_channels')
            if None not in (p_in, in_channels) and p_in != in_channels:
                raise ValueError(
                    f'NC3Head: projector.in_channels={p_in} != in_channels='
                    f'{in_channels}: the projector maps the head input; leave '
                    'projector.in_channels out (it is the head\'s in_channels)')
        self._fc_args = (scale, learnable_scale, etf_seed)
        self.projector = self.fc = None
        d_s = in_channels if projector is None or projector.get(
            'in_channels') is None else projector['in_channels']
        dim = self._class_dim(None)
        if d_s is not None and (dim is not None or projector is None):
            self._build(d_s, dim if dim is not None else d_s)

    # -- widths ---------------------------------------------------------------------
    @property
    def widths_resolved(self) -> bool:
        """Whether the projector and classifier are built."""
        return self.fc is not None

    def _class_dim(self, target):
        """Class-weight dimension from the config (bank, feat_dim, projector), else
        ``target``; raises when the config contradicts itself or ``target``."""
        p_out = (self._projector_cfg or {}).get('out_channels')
        given = [(v, k) for v, k in ((self._bank_dim, 'bank.feat_dim'), (self.feat_dim,
                                                                         'feat_dim'),
                                     (p_out, 'projector.out_channels')) if v]
        dim = given[0][0] if given else target
        for v, k in given[1:]:
            if v != dim:
                raise ValueError(
                    f'NC3Head: {k}={v} does not match the class weight dimension {dim} '
                    f'({given[0][1]}); set {k}={dim}, or leave it out (inferred)')
        if given and target and target != dim:
            raise ValueError(
                f'NC3Head: {given[0][1]}={dim} does not match the class weights '
                f'required from outside ({target}); set it to {target}, or leave it '
                'out (inferred)')
        return dim

    def _build(self, d_s, dim):
        if self._projector_cfg is not None:
            cfg = dict(self._projector_cfg, in_channels=d_s, out_channels=dim)
            self.projector = build_razor_module(cfg)  # connectors: MMRazor's
        else:
            if d_s != dim:
                raise ValueError(
                    f'NC3Head: in_channels={d_s} does not match the class weight '
                    f'dimension {dim} (bank.feat_dim / feat_dim); set projector=dict('
                    f"type='OrthogonalConnector', in_channels={d_s}, out_channels={dim})")
            self.projector = nn.Identity()
        self.in_channels = d_s
        self.fc = PrototypeClassifier(self.num_classes, dim, self.class_weights,
                                      self._bank, *self._fc_args)

    def resolve_widths(self,
                       in_channels: int,
                       feat_dim: Optional[int] = None,
                       key: str = 'head',
                       source: str = 'the head input',
                       target_source: str = 'model.distiller.bank.feat_dim'):
        """Build (or check) the projector and classifier for the measured widths.

        Args:
            in_channels (int): d_s measured at the head input.
            feat_dim (int, optional): class-weight dimension required from outside
                (the distiller's prototype bank).
            key (str): the head's config key, e.g. ``model.architecture.head``.
            source (str): where ``in_channels`` was measured (named in errors).
            target_source (str): where ``feat_dim`` comes from (named in errors).

        Raises:
            ValueError: a given width differs from the measured one, naming the key.
        """
        given = self.in_channels if self.in_channels is not None else (
            self._projector_cfg or {}).get('in_channels')
        field = 'in_channels' if self.in_channels is not None else \
            'projector.in_channels'
        if given is not None and given != in_channels:
            raise ValueError(
                f'{key}.{field}: {given} given, but {source} gives {in_channels} '
                f'channels; set it to {in_channels}, or leave it out (inferred)')
        if self.widths_resolved:
            if feat_dim is not None and self.fc.dim != feat_dim:
                field = 'projector.out_channels' if self._projector_cfg else (
                    'feat_dim' if self.feat_dim else 'in_channels')
                raise ValueError(
                    f'{key}.{field}: the class weights are {self.fc.dim}-d, but '
                    f'{target_source} is {feat_dim}; set it to {feat_dim}, or leave it '
                    'out (inferred)')
            return
        try:
            dim = self._class_dim(feat_dim)
        except ValueError as err:
            raise ValueError(f'{key}: {err} ({target_source} = {feat_dim})') from None
        if dim is None:
            if self._projector_cfg is not None:
                raise ValueError(
                    f'{key}.projector.out_channels cannot be inferred: no prototype '
                    f"bank fixes the class weights (class_weights='{self.class_weights}'"
                    '); set feat_dim or projector.out_channels')
            dim = in_channels
        self._build(in_channels, dim)

    def _check_resolved(self):
        if not self.widths_resolved:
            raise RuntimeError(
                'NC3Head: in_channels / projector widths were left out and never '
                'inferred. NCKDDistiller infers them when the distillation algorithm is '
                'built; to build the student alone set head.in_channels (and '
                'projector.out_channels or feat_dim), e.g. with '
                'mmkd_ext.models.distillers.student_cfg_with_widths(cfg.model)')

    def set_bank(self, bank):
        """Take the teacher prototypes from ``bank`` (called by NCKDDistiller)."""
        self._check_resolved()
        self.fc.set_bank(bank)

    def pre_logits(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """Projected penultimate feature ``g(h)`` (N, d) of the last stage."""
        self._check_resolved()
        x = feats[-1] if isinstance(feats, (tuple, list)) else feats
        if x.dim() != 2:
            raise ValueError(
                f'NC3Head: expects pooled (N, {self.in_channels}) features, got shape '
                f'{tuple(x.shape)}: give the classifier a pooling neck (e.g. '
                "neck=dict(type='GlobalAveragePooling')) or a backbone whose output "
                'is a vector (e.g. a ViT with out_type=\'cls_token\')')
        if x.shape[1] != self.in_channels:
            raise ValueError(
                f'NC3Head: head.in_channels={self.in_channels} but the features have '
                f'{x.shape[1]} channels (shape {tuple(x.shape)}): set '
                f'head.in_channels={x.shape[1]}, or leave it out (NCKDDistiller infers '
                'it)')
        return self.projector(x)

    def forward(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        return self.fc(self.pre_logits(feats))
