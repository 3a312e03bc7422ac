"""Discriminator distillation losses (VKD, and the KD-DLGAN-style regression baseline).

Inputs: D's distillation-head outputs ``s_real, s_fake (N, d_s)`` (gan.md: 512-d) and
the frozen teacher's embeddings of the same augmented images ``t_real, t_fake (N, d_t)``.

* VKD (paper sec. 3.4, vkd.md): one orthogonal projector ``P`` (``P^T P = I``) shared by
  real and fake, teacher targets normalised over the batch (``whiten``: covariance ``I``
  via Cholesky whitening with shrinkage; ``standardize``: per-dimension z-score;
  ``none``), ``L = w * [ l(P s_real, n(t_real)) + l(P s_fake, n(t_fake)) ]`` with the
  VKD feature loss ``l`` (smooth L1, beta 1, mean).
  The normalizer sees real and fake targets together (one ``(2N, d_t)`` batch: more
  samples for the covariance, one set of running statistics).
* Regression baseline (KD-DLGAN without text / diversity terms): ``connector=None``,
  ``normalizer='none'``: the head outputs regress the raw teacher embeddings,
  weight 10 as in KD-DLGAN.
"""
from typing import Optional, Union

import torch
import torch.nn as nn

from mmkd_ext.registry import MODELS

from ..connectors.normalizers import normalizer_cfg
from ..utils.razor_build import build_razor_module

@MODELS.register_module()
class DiscriminatorKD(nn.Module):
    """Two-sided feature distillation of D's head outputs to teacher embeddings.

    Args:
        student_dim (int): D head output size (512).
        teacher_dim (int): teacher embedding size (512 for CLIP ViT-B/32).
        connector (dict, optional): projector config (``mmrazor`` registry), e.g.
            ``dict(type='OrthogonalConnector')`` (``in_channels`` / ``out_channels``
            filled in); ``None`` = identity (needs ``student_dim == teacher_dim``).
        normalizer (str | dict): ``'none' | 'standardize' | 'whiten'`` (see
            :mod:`mmkd_ext.models.connectors.normalizers`) or a config.
        loss (dict): feature loss config. Defaults to ``VKDLoss`` smooth L1.
        loss_weight (float): multiplies both terms. Defaults to 10 (KD-DLGAN).
    """

    def __init__(self, student_dim: int = 512, teacher_dim: int = 512,
                 connector: Optional[dict] = None,
                 normalizer: Union[str, dict, None] = 'whiten',
                 loss: Optional[dict] = None, loss_weight: float = 10.0):
        super().__init__()
        self.student_dim, self.teacher_dim = student_dim, teacher_dim
        if connector is None:
            if student_dim != teacher_dim:
                raise ValueError(
                    f'distill.connector is None but student_dim ({student_dim}) != '
                    f'teacher_dim ({teacher_dim}): set a connector')
            self.connector = None
        else:
            cfg = dict(connector)
            cfg.setdefault('in_channels', student_dim)
            cfg.setdefault('out_channels', teacher_dim)
            self.connector = build_razor_module(cfg)
        cfg = normalizer_cfg(normalizer, teacher_dim, 'distill.normalizer')
        if cfg is not None and cfg['type'] in ('FeatureWhitener',
                                               'mmrazor.FeatureWhitener'):
            cfg.setdefault('num_features', teacher_dim)
        self.normalizer = None if cfg is None else build_razor_module(cfg)
        self.loss = build_razor_module(loss or dict(type='VKDLoss', loss_type='smooth_l1',
                                              beta=1.0))
        self.loss_weight = float(loss_weight)

    def project(self, s):
        """``(N, student_dim) -> (N, teacher_dim)`` through the shared connector."""
        return s if self.connector is None else self.connector(s)

    def normalize_targets(self, t_real, t_fake):
        """Normalise ``[t_real; t_fake]`` together, return both halves."""
        if self.normalizer is None:
            return t_real, t_fake
        t = self.normalizer(torch.cat([t_real, t_fake]).float())
        return t[:t_real.shape[0]], t[t_real.shape[0]:]

    def forward(self, s_real, s_fake, t_real, t_fake):
        for name, s in (('s_real', s_real), ('s_fake', s_fake)):
            if s.dim() != 2 or s.shape[1] != self.student_dim:
                raise ValueError(f'DiscriminatorKD: {name} must be (N, '
                                 f'{self.student_dim}), got {tuple(s.shape)}')
        for name, t in (('t_real', t_real), ('t_fake', t_fake)):
            if t.dim() != 2 or t.shape[1] != self.teacher_dim:
                raise ValueError(
                    f'DiscriminatorKD: teacher embedding {name} must be (N, '
                    f'{self.teacher_dim}) (distill.teacher_dim), got '
                    f'{tuple(t.shape)}')
        t_real, t_fake = self.normalize_targets(t_real.detach(), t_fake.detach())
        n = s_real.shape[0]
        p = self.project(torch.cat([s_real, s_fake]))
        return dict(
            loss_kd_real=self.loss_weight * self.loss(p[:n], t_real),
            loss_kd_fake=self.loss_weight * self.loss(p[n:], t_fake))
