"""Fixtures of the GAN model tests.

* ``tiny_teacher_cfg(ckpt=None)``: the config of a tiny frozen ResNet teacher
  (``FrozenImageEncoder``, 16 px input; with ``ckpt``, loaded from its ``backbone.*``).
* ``tiny_kd_gan(distill_dims, disc_steps, **distill)``: a 3-class ``DataLimitedGAN``
  (G and D of width 16, 8 px) with the tiny teacher and ``DiscriminatorKD`` (orthogonal
  connector, whitening unless given), built after ``torch.manual_seed(0)``.
"""
import pytest


def _tiny_teacher_cfg(ckpt=None):
    return dict(
        type='FrozenImageEncoder',
        backbone=dict(
            type='mmpretrain.ResNet_CIFAR',
            depth=18,
            stem_channels=4,
            base_channels=4,
            out_indices=(3, )),
        checkpoint=ckpt,
        ckpt_prefixes=None if ckpt is None else dict(backbone='backbone.'),
        input_size=16)


@pytest.fixture(scope='session')
def tiny_teacher_cfg():
    return _tiny_teacher_cfg


@pytest.fixture(scope='session')
def tiny_kd_gan():

    def build(distill_dims, disc_steps=1, **distill):
        import torch

        from mmkd_ext.models.gans import DataLimitedGAN
        torch.manual_seed(0)
        return DataLimitedGAN(
            generator=dict(
                type='BigGANGenerator', num_classes=3, z_dim=16, ch=16, num_blocks=1),
            discriminator=dict(
                type='BigGANDiscriminator',
                num_classes=3,
                ch=16,
                num_blocks=2,
                num_down=1,
                distill_dims=distill_dims),
            num_classes=3,
            disc_steps=disc_steps,
            teacher=_tiny_teacher_cfg(),
            distill=dict(
                dict(
                    type='DiscriminatorKD',
                    connector=dict(type='OrthogonalConnector'),
                    normalizer='whiten'), **distill))

    return build
