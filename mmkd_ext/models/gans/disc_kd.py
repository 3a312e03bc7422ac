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


def _dim(value, key):
    if value is not None and not (isinstance(value, int) and not isinstance(value, bool)
                                  and value > 0):
        raise ValueError(f'{key} must be a positive int or None (inferred), got '
                         f'{value!r}')
    return value


@MODELS.register_module()
class DiscriminatorKD(nn.Module):
    """Two-sided feature distillation of D's head outputs to teacher embeddings.

    Widths: ``student_dim`` (D's distillation-head output, ``distill_dims[-1]``) and
    ``teacher_dim`` (the teacher embedding) may be left out (None, the default). The
    GAN (:class:`DataLimitedGAN`) then calls :meth:`prepare` when it is built: one
    dry run G -> D -> distillation head and teacher (eval mode, no gradients, a fixed
    input from a private generator: no state changes) measures both, builds the
    connector and the normaliser for them, and checks given values, with errors
    naming ``model.distill.student_dim`` / ``teacher_dim`` and the model keys.

    Args:
        student_dim (int, optional): D head output size (512). None: inferred.
        teacher_dim (int, optional): teacher embedding size (512 for CLIP ViT-B/32).
            None: inferred.
        connector (dict, optional): projector config (``mmrazor`` registry), e.g.
            ``dict(type='OrthogonalConnector')`` (``in_channels`` / ``out_channels``
            filled in); ``None`` = identity (needs ``student_dim == teacher_dim``).
        normalizer (str | dict): ``'none' | 'standardize' | 'whiten'`` (see
            :mod:`mmkd_ext.models.connectors.normalizers`) or a config.
        loss (dict): feature loss config. Defaults to ``VKDLoss`` smooth L1.
        loss_weight (float): multiplies both terms. Defaults to 10 (KD-DLGAN).
        key (str): config key of this module, named in errors.
    """

    def __init__(self,
                 student_dim: Optional[int] = None,
                 teacher_dim: Optional[int] = None,
                 connector: Optional[dict] = None,
                 normalizer: Union[str, dict, None] = 'whiten',
                 loss: Optional[dict] = None,
                 loss_weight: float = 10.0,
                 key: str = 'model.distill'):
        super().__init__()
        self.key = key
        self.student_dim = _dim(student_dim, f'{key}.student_dim')
        self.teacher_dim = _dim(teacher_dim, f'{key}.teacher_dim')
        normalizer_cfg(normalizer, 1, f'{key}.normalizer')  # validates the name
        self._connector_cfg = None if connector is None else dict(connector)
        self._normalizer = normalizer
        self.connector = self.normalizer = None
        self.loss = build_razor_module(
            loss or dict(type='VKDLoss', loss_type='smooth_l1', beta=1.0))
        self.loss_weight = float(loss_weight)
        self._built = False
        if student_dim is not None and teacher_dim is not None:
            self._build(student_dim, teacher_dim)

    def _build(self, student_dim, teacher_dim):
        if self._connector_cfg is None:
            if student_dim != teacher_dim:
                raise ValueError(
                    f'{self.key}.connector is None but the student (D head) gives '
                    f'{student_dim} and the teacher {teacher_dim} dims: set a '
                    f'connector ({self.key}.connector, e.g. OrthogonalConnector), or '
                    f'model.discriminator.distill_dims[-1]={teacher_dim}')
        else:
            cfg = dict(self._connector_cfg)
            cfg.setdefault('in_channels', student_dim)
            cfg.setdefault('out_channels', teacher_dim)
            self.connector = build_razor_module(cfg)
        cfg = normalizer_cfg(self._normalizer, teacher_dim, f'{self.key}.normalizer')
        if cfg is not None and cfg['type'] in ('FeatureWhitener',
                                               'mmrazor.FeatureWhitener'):
            cfg.setdefault('num_features', teacher_dim)
        self.normalizer = None if cfg is None else build_razor_module(cfg)
        self.student_dim, self.teacher_dim = student_dim, teacher_dim
        self._built = True

    @torch.no_grad()
    def prepare(self, generator, discriminator, teacher, batch: int = 2):
        """Measure (and check) both widths by one dry run, then build the connector
        and normaliser if they wait for them.

        ``generator(z, y)`` makes ``batch`` images, ``discriminator(x, y,
        return_feat=True)`` gives the pooled features, ``discriminator.distill(h)``
        the student embedding ``(N, d_s)`` and ``teacher(x)`` the teacher's
        ``(N, d_t)``. All modules run in eval mode (restored after) on inputs drawn
        from a private generator, so no statistics, spectral-norm vectors or global RNG
        state change.

        Raises:
            ValueError: a given width differs from the measured one (names
                ``model.distill.student_dim`` / ``teacher_dim``), or an output is not
                (N, C).
        """
        modules = (generator, discriminator, teacher)
        modes = [(m, m.training) for m in modules]
        gen = torch.Generator().manual_seed(0)
        device = next((p.device for p in discriminator.parameters()), torch.device('cpu'))
        try:
            for m in modules:
                m.eval()
            num_classes = getattr(generator, 'num_classes', 1)
            z = torch.randn(batch, generator.z_dim, generator=gen).to(device)
            y = (torch.arange(batch) % num_classes).to(device)
            imgs = generator(z, y)
            _, h = discriminator(imgs, y, return_feat=True)
            s, t = discriminator.distill(h), teacher(imgs)
        finally:
            for m, mode in modes:
                m.train(mode)
        dims = {}
        for name, out, what in (('student_dim', s,
                                 "model.discriminator's distillation head "
                                 '(distill_dims[-1])'), ('teacher_dim', t,
                                                         'model.teacher')):
            if out.dim() != 2:
                raise ValueError(f'{self.key}: {what} gives {tuple(out.shape)}; '
                                 'expected (N, C) embeddings')
            given = getattr(self, name)
            if given is not None and given != out.shape[1]:
                raise ValueError(
                    f'{self.key}.{name}: {given} given, but {what} gives '
                    f'{out.shape[1]}-d embeddings; set it to {out.shape[1]}, or leave '
                    'it out (inferred)')
            dims[name] = out.shape[1]
        if not self._built:
            self._build(dims['student_dim'], dims['teacher_dim'])
        return dims['student_dim'], dims['teacher_dim']

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
        if not self._built:
            raise RuntimeError(
                f'{self.key}: student_dim / teacher_dim were left out and never '
                'inferred; DataLimitedGAN infers them when it is built (prepare()), '
                'otherwise give them')
        for name, s in (('s_real', s_real), ('s_fake', s_fake)):
            if s.dim() != 2 or s.shape[1] != self.student_dim:
                raise ValueError(f'DiscriminatorKD: {name} must be (N, '
                                 f'{self.student_dim}), got {tuple(s.shape)}')
        for name, t in (('t_real', t_real), ('t_fake', t_fake)):
            if t.dim() != 2 or t.shape[1] != self.teacher_dim:
                raise ValueError(f'DiscriminatorKD: teacher embedding {name} must be (N, '
                                 f'{self.teacher_dim}) ({self.key}.teacher_dim), got '
                                 f'{tuple(t.shape)}')
        t_real, t_fake = self.normalize_targets(t_real.detach(), t_fake.detach())
        n = s_real.shape[0]
        p = self.project(torch.cat([s_real, s_fake]))
        return dict(
            loss_kd_real=self.loss_weight * self.loss(p[:n], t_real),
            loss_kd_fake=self.loss_weight * self.loss(p[n:], t_fake))
