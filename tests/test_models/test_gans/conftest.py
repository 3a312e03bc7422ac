"""Fixtures of the GAN model tests.

* ``tiny_teacher_cfg(ckpt=None)``: the config of a tiny frozen ResNet teacher
  (``FrozenImageEncoder``, 16 px input; with ``ckpt``, loaded from its ``backbone.*``).
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
