"""The `_direct` VKD projector of the GAN configs (issue 20, item 1): no free head in
front of the orthogonal connector, which maps D's pooled feature straight to the teacher
width; widths inferred from the models."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mmkd_ext.models.gans import BigGANDiscriminator

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def test_empty_distill_dims_is_no_head():
    d = BigGANDiscriminator(
        num_classes=3, ch=16, num_blocks=2, num_down=1, distill_dims=())
    assert not any(True for _ in d.distill_head.parameters())
    h = torch.randn(5, 16)
    assert torch.equal(d.distill(h), h)
    with pytest.raises(ValueError, match='distill_dims is not set'):
        BigGANDiscriminator(num_classes=3, ch=16, num_blocks=2).distill(h)


def test_direct_widths_inferred_and_projection_orthogonal(tiny_kd_gan):
    """D's pooled feature (16-d) -> the teacher's 32-d: P (32 x 16) has orthonormal
    columns, P^T P = I, so the projection keeps the intra-batch geometry (Gram matrix)
    of D's features; the KD gradient reaches D's shared layers."""
    model = tiny_kd_gan(())
    kd = model.distill
    assert (kd.student_dim, kd.teacher_dim) == (16, 32)
    p = kd.connector.weight.detach()
    assert p.shape == (32, 16)
    assert torch.allclose(p.T @ p, torch.eye(16), atol=1e-5)
    h = torch.randn(6, 16)
    ph = kd.project(h).detach()  # no per-channel scale / bias by default
    assert torch.allclose(ph @ ph.T, h @ h.T, atol=1e-4)
    x = torch.randn(4, 3, 8, 8)
    y = torch.tensor([0, 1, 2, 0])
    _, h = model.discriminator(x, y, return_feat=True)
    t = torch.randn(4, 32)
    losses = kd(
        model.discriminator.distill(h[:2]), model.discriminator.distill(h[2:]), t[:2],
        t[2:])
    sum(losses.values()).backward()
    grads = [
        p.grad for p in model.discriminator.blocks.parameters() if p.grad is not None
    ]
    assert grads and sum(float(g.abs().sum()) for g in grads) > 0


def test_direct_given_width_mismatch_names_the_key(tiny_kd_gan, raises):
    raises(ValueError, lambda: tiny_kd_gan((), student_dim=24),
           'model.distill.student_dim', '24 given', '16')


DIGITS = 'vkd_biggan-diffaug-ch16_resnet18-w32_0.5k_digits-16px-10pct'
DIRECT = sorted(glob.glob(osp.join(REPO, 'configs', 'vkd', '*_direct*.py')))


def test_a_direct_variant_for_the_digits_study_and_every_cifar_vkd_config():
    names = {osp.basename(p) for p in DIRECT}
    leaves = [
        osp.basename(p)[:-3] for p in glob.glob(
            osp.join(REPO, 'configs', 'vkd', 'vkd_biggan-diffaug_clip*.py'))
        if not any(v in p for v in ('_nonorm', '_regression', '_standardize', '_direct'))
    ]
    assert len(leaves) == 6, leaves
    for leaf in leaves:
        assert f'{leaf}_direct.py' in names, leaf
    for suffix in ('_direct.py', '_direct-nonorm.py'):
        assert f'{DIGITS}{suffix}' in names


@pytest.mark.parametrize('path', DIRECT, ids=osp.basename)
def test_direct_configs_have_no_head_and_an_orthogonal_connector(path):
    cfg = Config.fromfile(path)
    assert tuple(cfg.model.discriminator.distill_dims) == ()
    assert cfg.model.distill.connector.type == 'OrthogonalConnector'
    assert 'student_dim' not in cfg.model.distill  # inferred
