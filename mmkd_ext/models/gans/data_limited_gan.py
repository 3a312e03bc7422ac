"""Data-limited class-conditional GAN trained by MMEngine's runner (gan.md, "Training").

One runner iteration = ``disc_steps`` D steps + one G step (BigGAN schedule):

* the real batch ``(disc_steps * B, 3, H, W)`` (pixels mapped to [-1, 1] by the data
  preprocessor, optional horizontal flip) is split into ``disc_steps`` chunks of B;
* D step k: fresh ``z ~ N(0, I)``, labels ``y ~ U{0..K-1}``, ``x_f = G(z, y)`` (no grad);
  hinge loss ``mean relu(1 - D(T(x_r), y_r)) + mean relu(1 + D(T(x_f), y))`` with
  DiffAugment ``T``, plus the optional discriminator distillation
  (:class:`DiscriminatorKD` on D's head of the pooled features vs the frozen teacher's
  embeddings of the same augmented images);
* G step: fresh z, y; ``L_G = -mean D(T(G(z, y)), y)`` (D frozen for this step);
* EMA generator: a copy of G until ``ema_start`` G steps, then
  ``e <- decay e + (1 - decay) g``.

Optimizers: an ``OptimWrapperDict`` with keys ``generator`` and ``discriminator``
(:class:`mmkd_ext.engine.GANOptimWrapperConstructor`; D's optimizer also owns the
distillation connector). Checkpoints hold G, D, EMA G, the KD modules and both
optimizers; ``num_g_steps`` is a buffer, so resume continues the EMA schedule.
``val_step`` / ``test_step`` sample the EMA G from ``(noise, label)`` batches
(:class:`mmkd_ext.datasets.GANNoiseDataset`). Multi-GPU: the GAN configs use
``MMSeparateDistributedDataParallel`` (G, D, connector wrapped separately); frozen
passes (G in the D step, D in the G step) call the unwrapped modules.
"""
import copy
from typing import Optional

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel, is_model_wrapper

from mmkd_ext.registry import MODELS
from .diffaug import diff_augment, parse_policy
from .ema import ema_update_


def _unwrap(module):
    """The plain module inside a (separate) DDP wrapper."""
    return module.module if is_model_wrapper(module) else module


@MODELS.register_module()
class DataLimitedGAN(BaseModel):
    """Class-conditional GAN with DiffAugment, EMA G and optional D distillation.

    Args:
        generator (dict): e.g. ``dict(type='BigGANGenerator', num_classes=10)``.
        discriminator (dict): e.g. ``dict(type='BigGANDiscriminator', ...)``; give it
            ``distill_dims=(1024, 512)`` when ``distill`` is set.
        num_classes (int): K, labels drawn uniformly from ``[0, K)``.
        disc_steps (int): D steps per G step. Defaults to 4.
        diffaug_policy (str): DiffAugment policy. Defaults to ``'translation,cutout'``.
        real_hflip (bool): random horizontal flip of real images. Defaults to True.
        ema_decay (float) / ema_start (int): EMA of G. Defaults 0.9999 / 1000.
        teacher (dict, optional): frozen encoder config
            (:class:`FrozenImageEncoder`), required with ``distill``.
        distill (dict, optional): :class:`DiscriminatorKD` config.
        data_preprocessor (dict, optional): defaults to uint8 -> [-1, 1].
    """

    def __init__(self,
                 generator: dict,
                 discriminator: dict,
                 num_classes: int,
                 disc_steps: int = 4,
                 diffaug_policy: str = 'translation,cutout',
                 real_hflip: bool = True,
                 ema_decay: float = 0.9999,
                 ema_start: int = 1000,
                 teacher: Optional[dict] = None,
                 distill: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg=None):
        if data_preprocessor is None:
            data_preprocessor = dict(
                type='ImgDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if not isinstance(disc_steps, int) or disc_steps < 1:
            raise ValueError(f'model.disc_steps must be an int >= 1, got {disc_steps!r}')
        if not 0.0 <= ema_decay <= 1.0:
            raise ValueError(f'model.ema_decay must be in [0, 1], got {ema_decay!r}')
        self.generator = MODELS.build(generator)
        self.discriminator = MODELS.build(discriminator)
        self.generator_ema = copy.deepcopy(self.generator).requires_grad_(False)
        self.num_classes, self.disc_steps = int(num_classes), disc_steps
        self.policy = parse_policy(diffaug_policy)
        self.real_hflip, self.ema_decay, self.ema_start = real_hflip, ema_decay, ema_start
        self.register_buffer('num_g_steps', torch.zeros((), dtype=torch.long))
        self._g_steps = None  # python mirror of num_g_steps (no device sync)
        if (teacher is None) != (distill is None):
            raise ValueError('model.teacher and model.distill must be set together '
                             f'(teacher={teacher is not None}, '
                             f'distill={distill is not None})')
        self.teacher = MODELS.build(teacher) if teacher is not None else None
        self.distill = MODELS.build(distill) if distill is not None else None
        if self.distill is not None and getattr(self.discriminator, 'distill_head',
                                                None) is None:
            raise ValueError('model.distill needs a discriminator with a distillation '
                             'head: set model.discriminator.distill_dims, e.g. '
                             '(1024, 512)')
        if self.distill is not None:  # infers / checks student_dim and teacher_dim
            self.distill.prepare(self.generator, self.discriminator, self.teacher)

    def _load_from_state_dict(self, *args, **kwargs):
        self._g_steps = None  # re-read num_g_steps after loading (resume)
        return super()._load_from_state_dict(*args, **kwargs)

    def optim_param_modules(self):
        """Modules whose parameters each optimizer of the OptimWrapperDict owns."""
        d = [self.discriminator] + ([self.distill] if self.distill is not None else [])
        return dict(generator=[self.generator], discriminator=d)

    def _sample_zy(self, n, device):
        z = torch.randn(n, _unwrap(self.generator).z_dim, device=device)
        y = torch.randint(0, self.num_classes, (n, ), device=device)
        return z, y

    def _aug(self, x):
        return diff_augment(x, self.policy) if self.policy else x

    def _flip(self, x):
        if not self.real_hflip:
            return x
        flip = torch.rand(x.shape[0], 1, 1, 1, device=x.device) < 0.5
        return torch.where(flip, x.flip(3), x)

    def disc_loss(self, real, y_real):
        """Hinge (+ distillation) losses of one D step; real (B, 3, H, W) in [-1, 1]."""
        n = real.shape[0]
        z, y_fake = self._sample_zy(n, real.device)
        with torch.no_grad():
            fake = _unwrap(self.generator)(z, y_fake)  # no DDP sync: no grad
        imgs = self._aug(torch.cat([real, fake]))
        logits, h = self.discriminator(
            imgs, torch.cat([y_real, y_fake]), return_feat=True)
        losses = dict(
            loss_d_real=F.relu(1.0 - logits[:n]).mean(),
            loss_d_fake=F.relu(1.0 + logits[n:]).mean())
        if self.distill is not None:
            s = _unwrap(self.discriminator).distill(h)
            t = self.teacher(imgs)
            losses.update(self.distill(s[:n], s[n:], t[:n], t[n:]))
        return losses

    def gen_loss(self, n, device):
        z, y = self._sample_zy(n, device)
        # D is frozen here: call it unwrapped so DDP does not wait for its grads
        logits = _unwrap(self.discriminator)(self._aug(self.generator(z, y)), y)
        return dict(loss_g=-logits.mean())

    def train_step(self, data, optim_wrapper):
        data = self.data_preprocessor(data, True)
        real, labels = data['inputs'], data['data_samples']
        if not torch.is_tensor(labels):
            labels = torch.as_tensor(labels, device=real.device)
        if real.shape[0] % self.disc_steps:
            raise ValueError(
                f'train_dataloader.batch_size ({real.shape[0]}) must be a multiple of '
                f'model.disc_steps ({self.disc_steps}): each D step takes batch_size '
                '/ disc_steps real images (drop_last=True avoids a short last batch)')
        real = self._flip(real)
        log = {}
        d_wrapper, g_wrapper = optim_wrapper['discriminator'], optim_wrapper['generator']
        for real_k, y_k in zip(
                real.chunk(self.disc_steps), labels.chunk(self.disc_steps)):
            with d_wrapper.optim_context(self.discriminator):
                losses = self.disc_loss(real_k, y_k)
            loss_d, log_d = self.parse_losses(losses)
            d_wrapper.update_params(loss_d)
        log['loss_d'] = log_d.pop('loss').detach()
        log.update({k: v.detach() for k, v in log_d.items()})
        _unwrap(self.discriminator).requires_grad_(False)
        try:
            with g_wrapper.optim_context(self.generator):
                loss_g, log_g = self.parse_losses(
                    self.gen_loss(real.shape[0] // self.disc_steps, real.device))
            g_wrapper.update_params(loss_g)
        finally:
            _unwrap(self.discriminator).requires_grad_(True)
        log['loss_g'] = log_g['loss_g'].detach()
        if self._g_steps is None:  # one read of the (possibly resumed) buffer
            self._g_steps = int(self.num_g_steps)
        self._g_steps += 1
        self.num_g_steps.fill_(self._g_steps)
        ema_update_(
            self.generator_ema,
            _unwrap(self.generator),
            self.ema_decay,
            copy=self._g_steps <= self.ema_start)
        return log

    @torch.no_grad()
    def sample(self, noise, labels, use_ema: bool = True):
        """Images ``(N, 3, S, S)`` in [-1, 1] from ``noise (N, z_dim)`` and
        ``labels (N,)``."""
        g = self.generator_ema if use_ema else _unwrap(self.generator)
        return g(noise, labels)

    def val_step(self, data):
        data = self.data_preprocessor.cast_data(data)
        for key in ('noise', 'label'):
            if key not in data:
                raise KeyError(f'val/test batches must hold "noise" and "label" '
                               f'(use GANNoiseDataset); got keys {sorted(data)}')
        imgs = self.sample(data['noise'], data['label'])
        return [dict(fake_img=img, gt_label=y) for img, y in zip(imgs, data['label'])]

    def test_step(self, data):
        return self.val_step(data)

    def forward(self, inputs, data_samples=None, mode: str = 'tensor'):
        """``mode='tensor'``: EMA-G images from ``inputs`` = ``(noise, labels)``."""
        noise, labels = inputs
        return self.sample(noise, labels)
