"""BigGAN G / D (gan.md sizes, spectral norm, init) and DiffAugment."""
import pytest
import torch
import torch.nn as nn

from mmkd_ext.models.gans import BigGANDiscriminator, BigGANGenerator
from mmkd_ext.models.gans.diffaug import (diff_augment, parse_policy, rand_color,
                                          rand_cutout, rand_translation)


def n_params(m):
    return sum(p.numel() for p in m.parameters())


@pytest.mark.parametrize('num_classes,g_params', [(10, 4.3e6), (100, 4.6e6)])
def test_sizes_match_design(num_classes, g_params):
    g, d = BigGANGenerator(num_classes), BigGANDiscriminator(num_classes)
    assert abs(n_params(g) - g_params) / g_params < 0.02
    assert abs(n_params(d) - 4.2e6) / 4.2e6 < 0.02


def test_shapes_and_head():
    torch.manual_seed(0)
    g = BigGANGenerator(10, ch=32)
    d = BigGANDiscriminator(10, ch=32, distill_dims=(1024, 512))
    z, y = torch.randn(5, 128), torch.randint(0, 10, (5, ))
    x = g(z, y)
    assert x.shape == (5, 3, 32, 32) and x.abs().max() <= 1
    logits, h = d(x, y, return_feat=True)
    assert logits.shape == (5, ) and h.shape == (5, 32)
    assert d.distill(h).shape == (5, 512)
    # projection term: D(x, y) - D(x, y') = <E[y] - E[y'], h> (SN'd embedding)
    y2 = (y + 1) % 10
    d.eval()  # eval: spectral norm uses the stored u, v (no power iteration)
    diff = d(x, y) - d(x, y2)
    _, h_eval = d(x, y, return_feat=True)
    emb = d.embed.weight
    assert torch.allclose(diff, ((emb[y] - emb[y2]) * h_eval).sum(1), atol=1e-4)
    with pytest.raises(ValueError, match='z must be'):
        g(torch.randn(2, 7), y[:2])


def test_spectral_norm_everywhere_and_init():
    g, d = BigGANGenerator(10, ch=64), BigGANDiscriminator(10, ch=64,
                                                          distill_dims=(128, 32))
    for net in (g, d):
        for name, m in net.named_modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                assert hasattr(m, 'weight_orig'), name
                assert m.weight_orig.std().item() == pytest.approx(0.02, rel=0.3)
                # 1 power iteration, eps 1e-8
                hook = [h for h in m._forward_pre_hooks.values()
                        if type(h).__name__ == 'SpectralNorm'][0]
                assert hook.n_power_iterations == 1 and hook.eps == 1e-8
    assert hasattr(d.embed, 'weight_orig')  # D's projection embedding: SN
    assert not hasattr(g.blocks[0].bn1.gain, 'weight_orig')  # G's: not SN
    # spectral norm of the effective weight is ~1 after some power iterations
    lin = d.linear
    for _ in range(30):
        lin(torch.randn(2, 64))
    assert torch.linalg.matrix_norm(lin.weight, 2).item() == pytest.approx(1, abs=1e-3)


def test_diffaug_shape_grad_reproducible():
    x = torch.randn(6, 3, 32, 32, requires_grad=True)
    a = diff_augment(x, 'color,translation,cutout',
                     generator=torch.Generator().manual_seed(3))
    b = diff_augment(x, 'color,translation,cutout',
                     generator=torch.Generator().manual_seed(3))
    c = diff_augment(x, 'color,translation,cutout',
                     generator=torch.Generator().manual_seed(4))
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, c)
    a.square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert parse_policy('cutout, translation') == ('translation', 'cutout')
    with pytest.raises(ValueError, match='diffaug_policy'):
        parse_policy('translation,rotate')


def test_translation_exact_and_range():
    x = torch.arange(1., 17.).view(1, 1, 4, 4)
    t = rand_translation(x, ratio=0.25, shifts=torch.tensor([[1, -1]]))
    expect = torch.tensor([[0, 0, 0, 0], [2, 3, 4, 0], [6, 7, 8, 0],
                           [10, 11, 12, 0.]])
    assert torch.equal(t[0, 0], expect)  # down 1, left 1, zero padding
    # random shifts at 32x32 stay within +-4 px: content is a shifted copy
    img = torch.rand(64, 1, 32, 32) + 1  # strictly positive
    out = rand_translation(img, generator=torch.Generator().manual_seed(0))
    found = set()
    for i in range(64):
        for dy in range(-4, 5):
            for dx in range(-4, 5):
                ref = rand_translation(img[i:i + 1], shifts=torch.tensor([[dy, dx]]))
                if torch.equal(ref, out[i:i + 1]):
                    found.add((dy, dx))
                    break
            else:
                continue
            break
        else:
            raise AssertionError(f'sample {i} is not a +-4 px translation')
    assert len(found) > 10  # per-sample parameters


def test_cutout_square():
    x = torch.ones(32, 3, 32, 32)
    out = rand_cutout(x, generator=torch.Generator().manual_seed(0))
    zeros = (out[:, 0] == 0)
    assert torch.equal(out[:, 0] == 0, out[:, 2] == 0)  # same mask on all channels
    counts = zeros.flatten(1).sum(1)
    assert counts.max() == 256 and counts.min() > 0  # 16x16, clipped at borders
    full = zeros[counts == 256][0].nonzero()
    assert full[:, 0].max() - full[:, 0].min() == 15
    centred = rand_cutout(torch.ones(1, 1, 32, 32), centres=torch.tensor([[16, 16]]))
    assert torch.equal((centred[0, 0] == 0).nonzero().min(0).values,
                       torch.tensor([8, 8]))


def test_color_changes_image():
    x = torch.rand(4, 3, 8, 8) * 2 - 1
    out = rand_color(x, generator=torch.Generator().manual_seed(0))
    assert out.shape == x.shape and not torch.allclose(out, x)
