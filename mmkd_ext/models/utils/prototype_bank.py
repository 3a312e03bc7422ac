"""Teacher prototype bank for NCKD: per-class teacher feature means ``mu_c^T``.

Two sources (design note ``nckd.md``, "Notation"):

* ``mode='file'``: a (C, d) tensor computed once over the training set by
  ``tools/analysis_tools/extract_prototypes.py`` and read with
  :func:`mmkd_ext.models.utils.checkpoint.read_checkpoint` (weights_only); never
  updated.
* ``mode='online'``: running class means of the teacher features of every training
  batch. The batch's per-class sums and counts are all-reduced across ranks
  (:func:`mmengine.dist.all_reduce`, one collective of C x (d + 1) numbers) before the
  update, so every rank holds identical prototypes. ``momentum=None`` keeps the exact
  running mean over everything seen; a float gives a per-class EMA instead.

``means`` and ``counts`` are persistent buffers: the bank is saved in and restored from
checkpoints by its owner. ``forward(preds_T, labels)`` performs the update (training
mode) and returns the fraction of classes seen so far.

Ownership: in a distillation run the bank belongs to
:class:`mmkd_ext.models.distillers.NCKDDistiller` (``model.distiller.bank``), which
updates it once per step and hands it to the NC losses and to the student's
:class:`~mmkd_ext.models.heads.NC3Head`. A module holds a bank either as its own
submodule (built from a config dict: saved with the module) or as a reference to a bank
someone else owns (given as a module: not saved again), see :func:`attach_bank`.
"""
from typing import Optional

import torch
import torch.nn as nn
from mmengine import dist
from mmrazor.registry import MODELS

from .checkpoint import CheckpointError, read_checkpoint
from .neural_collapse import centered_normalized, check_labels

__all__ = ['PrototypeBank', 'build_prototype_bank', 'attach_bank']


@MODELS.register_module()
class PrototypeBank(nn.Module):
    """Per-class teacher means (C, d) with cached normalised centred prototypes.

    Args:
        num_classes (int): C.
        feat_dim (int): d, the teacher feature dimension.
        mode (str): ``'online'`` or ``'file'``.
        path (str, optional): prototype file for ``mode='file'`` (a (C, d) tensor or
            a dict with key ``'prototypes'``). ``None`` in file mode means the values
            come from a checkpoint.
        momentum (float, optional): EMA rate of the online update; None = exact
            running mean.
        name (str, optional): a label used in messages.
    """

    def __init__(self,
                 num_classes: int,
                 feat_dim: int,
                 mode: str = 'online',
                 path: Optional[str] = None,
                 momentum: Optional[float] = None,
                 name: Optional[str] = None):
        super().__init__()
        if not (isinstance(num_classes, int) and num_classes >= 2):
            raise ValueError(f'bank.num_classes must be an int >= 2, got {num_classes!r}')
        if not (isinstance(feat_dim, int) and feat_dim >= 1):
            raise ValueError(f'bank.feat_dim must be a positive int, got {feat_dim!r}')
        if mode not in ('online', 'file'):
            raise ValueError(f"bank.mode must be 'online' or 'file', got {mode!r}")
        if momentum is not None and not 0 < momentum <= 1:
            raise ValueError(f'bank.momentum must be None or in (0, 1], got {momentum!r}')
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

    def load_file(self, path: str):
        """Fill the bank from a prototype file (weights_only load, shape checked).

        Raises:
            CheckpointError: missing / unreadable file, no prototypes, wrong shape,
                non-finite values.
        """
        data = read_checkpoint(path, key_hint='bank.path')
        protos = data.get('prototypes') if isinstance(data, dict) else data
        if not isinstance(protos, torch.Tensor):
            raise CheckpointError(
                f'bank.path: "{path}" holds neither a tensor nor a dict with '
                f"key 'prototypes' (got {type(data).__name__} with keys "
                f'{sorted(data) if isinstance(data, dict) else None})')
        if tuple(protos.shape) != (self.num_classes, self.feat_dim):
            raise CheckpointError(
                f'bank.path: "{path}" holds prototypes of shape {tuple(protos.shape)}, '
                f'expected (num_classes, feat_dim) = ({self.num_classes}, '
                f'{self.feat_dim})')
        if not torch.isfinite(protos).all():
            raise CheckpointError(f'bank.path: "{path}" contains NaN/inf prototypes')
        counts = data.get('counts') if isinstance(data, dict) else None
        self.means.copy_(protos.to(self.means))
        self.counts.copy_(
            counts.to(self.counts) if isinstance(counts, torch.Tensor) else torch.
            ones_like(self.counts))
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
            hint = ('use NCKDDistiller with model.distiller.bank and '
                    'bank_forward_mappings (preds_T, labels): it updates the bank once '
                    'per step before its distill_losses'
                    if self.mode == 'online' else 'set bank.path')
            raise RuntimeError(f'{owner}: PrototypeBank {self.name!r} (mode='
                               f'{self.mode!r}) holds no teacher statistics: {hint}.')
        self._filled_checked = True

    def _load_from_state_dict(self, *args, **kwargs):
        super()._load_from_state_dict(*args, **kwargs)
        self._version += 1

    def extra_repr(self):
        return (f'name={self.name!r}, num_classes={self.num_classes}, '
                f'feat_dim={self.feat_dim}, mode={self.mode!r}, momentum={self.momentum}')


def build_prototype_bank(cfg):
    """A :class:`PrototypeBank` from a config dict (``type`` optional); ``None`` and
    bank modules pass through."""
    if cfg is None or isinstance(cfg, PrototypeBank):
        return cfg
    if not isinstance(cfg, dict):
        raise TypeError(f'bank must be a dict config or a PrototypeBank, got '
                        f'{type(cfg).__name__}')
    cfg = dict(cfg)
    cfg.pop('type', None)
    return PrototypeBank(**cfg)


def attach_bank(module: nn.Module, bank, owner: str):
    """Give ``module`` its ``bank`` attribute.

    * a config dict: a new bank, registered as ``module.bank`` (``module`` owns it and
      saves it in its ``state_dict``);
    * a :class:`PrototypeBank` module: a reference, not registered (the bank's owner,
      e.g. :class:`~mmkd_ext.models.distillers.NCKDDistiller`, saves it once);
    * ``None``: no bank (yet).

    A module that owns a bank cannot take another one.

    Raises:
        ValueError: ``module`` already owns a bank and is given another.
    """
    own = module._modules.get('bank')
    if own is not None and bank is own:
        return
    if own is not None:
        raise ValueError(
            f'{owner}: builds its own PrototypeBank from its `bank` config, and another '
            'bank is handed to it; remove `bank` from its config (the NCKDDistiller '
            'owns one bank, `model.distiller.bank`, and hands it to every NC module)')
    if isinstance(bank, dict):
        module.bank = build_prototype_bank(bank)
    elif bank is None or isinstance(bank, PrototypeBank):
        object.__setattr__(module, 'bank', bank)  # a reference: not a submodule
    else:
        raise TypeError(f'{owner}.bank must be a dict config or a PrototypeBank, got '
                        f'{type(bank).__name__}')
