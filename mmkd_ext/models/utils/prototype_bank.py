"""Teacher prototype bank for NCKD: per-class teacher feature means ``mu_c^T``.

Two sources (design note ``nckd.md``, "Notation"):

* ``mode='file'``: a (C, d) tensor computed once over the training set by
  ``tools/analysis_tools/extract_prototypes.py`` and loaded through
  :func:`mmkd_ext.compat.safe_torch_load` (weights_only); never updated.
* ``mode='online'``: running class means of the teacher features of every training
  batch. The batch's per-class sums and counts are all-reduced across ranks
  (:func:`mmengine.dist.all_reduce`, one collective of C x (d + 1) numbers) before the
  update, so every rank holds identical prototypes. ``momentum=None`` keeps the exact
  running mean over everything seen; a float gives a per-class EMA instead.

``means`` and ``counts`` are persistent buffers: the bank is saved in and restored from
checkpoints. ``forward(preds_T, labels)`` performs the update and returns the fraction
of classes seen so far, so the bank goes into ``distiller.distill_losses`` under a name
without "loss" (e.g. ``bank_coverage``) and is logged, never back-propagated.

Sharing: NC1AlignLoss, NC2StructureLoss and NC3Head each take the same ``bank`` config;
within one model, banks built with the same ``name`` are one object (the first build
creates it, later ones must pass the same arguments), so one update serves every
consumer and the checkpoint holds the same values under each owner's key. A second
model built in the same process gets its own bank (see :func:`_claim`). ``name=None``
gives a private bank.
"""
import weakref
from typing import Optional

import torch
import torch.nn as nn
from mmengine import dist
from mmrazor.registry import MODELS

from .neural_collapse import centered_normalized, check_labels

__all__ = ['PrototypeBank', 'build_prototype_bank']

_LIVE_BANKS = weakref.WeakValueDictionary()


def _claim(name, role):
    """The live bank called ``name`` if ``role`` has not attached to it yet.

    Within one model every consumer kind (NC3Head, NC1AlignLoss, NC2StructureLoss, the
    bank's own ``distill_losses`` entry) attaches once; when a kind asks again, a new
    model is being built in this process, so it gets a fresh bank (no state leaks
    between two models built one after the other, e.g. in tools or tests).
    """
    bank = _LIVE_BANKS.get(name) if name is not None else None
    if bank is None or role in bank._roles:
        return None
    bank._roles.add(role)
    return bank


@MODELS.register_module()
class PrototypeBank(nn.Module):
    """Per-class teacher means (C, d) with cached normalised centred prototypes.

    Args:
        num_classes (int): C.
        feat_dim (int): d, the teacher feature dimension.
        mode (str): ``'online'`` or ``'file'``.
        path (str, optional): prototype file for ``mode='file'`` (a (C, d) tensor or
            a dict with key ``'prototypes'``). ``None`` in file mode means the values
            come from a checkpoint (e.g. a distilled student at test time).
        momentum (float, optional): EMA rate of the online update; None = exact
            running mean.
        name (str, optional): share one bank between every module built with it.
    """

    def __new__(cls, *args, name: Optional[str] = None, _role: str = 'PrototypeBank',
                **kwargs):
        shared = _claim(name, _role)
        return shared if shared is not None else super().__new__(cls)

    def __init__(self, num_classes: int, feat_dim: int, mode: str = 'online',
                 path: Optional[str] = None, momentum: Optional[float] = None,
                 name: Optional[str] = None, _role: str = 'PrototypeBank'):
        args = dict(num_classes=num_classes, feat_dim=feat_dim, mode=mode, path=path,
                    momentum=momentum)
        if getattr(self, '_bank_args', None) is not None:  # shared instance
            if args != self._bank_args:
                raise ValueError(
                    f'bank: a PrototypeBank named {name!r} already exists with '
                    f'{self._bank_args}; got different arguments {args}. Use the same '
                    'bank config for every NC loss / NC3Head, or another name.')
            return
        super().__init__()
        if not (isinstance(num_classes, int) and num_classes >= 2):
            raise ValueError(f'bank.num_classes must be an int >= 2, got {num_classes!r}')
        if not (isinstance(feat_dim, int) and feat_dim >= 1):
            raise ValueError(f'bank.feat_dim must be a positive int, got {feat_dim!r}')
        if mode not in ('online', 'file'):
            raise ValueError(f"bank.mode must be 'online' or 'file', got {mode!r}")
        if momentum is not None and not 0 < momentum <= 1:
            raise ValueError(f'bank.momentum must be None or in (0, 1], got {momentum!r}')
        self._bank_args = args
        self.num_classes, self.feat_dim = num_classes, feat_dim
        self.mode, self.momentum, self.name = mode, momentum, name
        self.register_buffer('means', torch.zeros(num_classes, feat_dim))
        self.register_buffer('counts', torch.zeros(num_classes, dtype=torch.float64))
        self._version = 0
        self._cache_key = None
        self._cache = None
        self._labels_checked = False
        self._filled_checked = False
        if mode == 'file' and path is not None:
            self.load_file(path)
        self._roles = {_role}
        if name is not None:
            _LIVE_BANKS[name] = self

    def load_file(self, path: str):
        """Fill the bank from a prototype file (weights_only load, shape checked)."""
        from mmkd_ext.compat import safe_torch_load
        data = safe_torch_load(path, key_hint='bank.path')
        protos = data.get('prototypes') if isinstance(data, dict) else data
        if not isinstance(protos, torch.Tensor):
            raise KeyError(f'bank.path: "{path}" holds neither a tensor nor a dict with '
                           f"key 'prototypes' (got {type(data).__name__} with keys "
                           f'{sorted(data) if isinstance(data, dict) else None})')
        if tuple(protos.shape) != (self.num_classes, self.feat_dim):
            raise ValueError(
                f'bank.path: "{path}" holds prototypes of shape {tuple(protos.shape)}, '
                f'expected (num_classes, feat_dim) = ({self.num_classes}, '
                f'{self.feat_dim})')
        if not torch.isfinite(protos).all():
            raise ValueError(f'bank.path: "{path}" contains NaN/inf prototypes')
        counts = data.get('counts') if isinstance(data, dict) else None
        self.means.copy_(protos.to(self.means))
        self.counts.copy_(counts.to(self.counts) if isinstance(counts, torch.Tensor)
                          else torch.ones_like(self.counts))
        self._version += 1

    @torch.no_grad()
    def update(self, feats: torch.Tensor, labels: torch.Tensor):
        """Online update from teacher features (N, d) and labels (N,)."""
        if feats.dim() != 2 or feats.shape[1] != self.feat_dim:
            raise ValueError(f'PrototypeBank({self.name!r}).update: preds_T must be '
                             f'(N, {self.feat_dim}), got {tuple(feats.shape)}')
        labels = check_labels(labels, feats.shape[0], 'PrototypeBank labels').long()
        if not self._labels_checked:  # one sync, first call only
            if labels.numel() and (labels.min() < 0 or labels.max() >= self.num_classes):
                raise ValueError(f'PrototypeBank labels must lie in [0, '
                                 f'{self.num_classes}); check bank.num_classes')
            self._labels_checked = True
        feats = feats.detach().float()
        if dist.get_world_size() > 1:
            self._update_dense(feats, labels)
        else:
            self._update_sparse(feats, labels)
        self._version += 1

    def _rates(self, bcount: torch.Tensor) -> torch.Tensor:
        """Per-class step towards the batch mean: exact running mean or EMA."""
        if self.momentum is None:
            return bcount / (self.counts + bcount).clamp(min=1)
        first = (self.counts == 0).double()
        return (bcount > 0).double() * (first + (1 - first) * self.momentum)

    def _update_dense(self, feats, labels):
        """All-reduce the batch's per-class sums and counts, then update every row."""
        c, d = self.num_classes, self.feat_dim
        stats = feats.new_zeros(c, d + 1)
        stats[:, :d].index_add_(0, labels, feats)
        stats[:, d] = torch.bincount(labels, minlength=c).float()
        dist.all_reduce(stats, op='sum')
        bcount = stats[:, d].double()
        bmean = stats[:, :d] / bcount.clamp(min=1).float()[:, None]
        rate = self._rates(bcount).to(self.means.dtype)
        self.means.add_(rate[:, None] * (bmean - self.means))
        self.counts.add_(bcount)

    def _update_sparse(self, feats, labels):
        """Single process: the same update touching only the batch's rows, as
        ``mean_c += rate_c / n_c * sum_{i: y_i = c} (h_i - mean_c)``."""
        bcount = torch.bincount(labels, minlength=self.num_classes).double()
        coef = (self._rates(bcount) / bcount.clamp(min=1)).to(feats.dtype)[labels]
        delta = (feats - self.means[labels]) * coef[:, None]
        self.means.index_add_(0, labels, delta.to(self.means.dtype))
        self.counts.add_(bcount)

    def forward(self, preds_T: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Update (online mode, training only); return the fraction of seen classes."""
        if self.mode == 'online' and self.training:
            self.update(preds_T, labels)
        return (self.counts > 0).float().mean()

    def _refresh(self):
        key = (self._version, self.means.device, self.means.data_ptr())
        if self._cache_key != key:
            # out of place: tensors handed out earlier may sit in an autograd graph
            self._cache = centered_normalized(self.means, self.counts > 0)
            self._cache_key = key
        return self._cache

    @property
    def prototypes(self) -> torch.Tensor:
        """``m~`` (C, d): normalised centred means; zero rows for unseen classes."""
        return self._refresh()[0]

    @property
    def global_mean(self) -> torch.Tensor:
        """``mu_G^T`` (d,): mean of the seen class means."""
        return self._refresh()[1]

    def check_filled(self, owner: str):
        """Raise once (first training call) if the bank holds no statistics."""
        if self._filled_checked or not self.training:
            return
        if not bool((self.counts > 0).any()):
            hint = ('list the bank in distiller.distill_losses (e.g. '
                    'bank_coverage=bank, with preds_T and labels mappings) before the '
                    'NC losses' if self.mode == 'online' else 'set bank.path')
            raise RuntimeError(f'{owner}: PrototypeBank {self.name!r} (mode='
                               f'{self.mode!r}) holds no teacher statistics: {hint}.')
        self._filled_checked = True

    def _load_from_state_dict(self, *args, **kwargs):
        super()._load_from_state_dict(*args, **kwargs)
        self._version += 1

    def extra_repr(self):
        return (f'name={self.name!r}, num_classes={self.num_classes}, '
                f'feat_dim={self.feat_dim}, mode={self.mode!r}, momentum={self.momentum}')


def build_prototype_bank(cfg, role: str = 'PrototypeBank'):
    """Build (or fetch the shared) bank from a config dict for the consumer kind
    ``role``; pass modules through."""
    if cfg is None or isinstance(cfg, PrototypeBank):
        return cfg
    if not isinstance(cfg, dict):
        raise TypeError(f'bank must be a dict config or a PrototypeBank, got '
                        f'{type(cfg).__name__}')
    cfg = dict(cfg)
    cfg.pop('type', None)
    return PrototypeBank(**cfg, _role=role)
