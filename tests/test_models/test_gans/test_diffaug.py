"""DiffAugment (color, translation, cutout): shapes, gradients, reproducibility; the exact
geometry of translate / cutout and the range of the random draws."""
import pytest
import torch

from mmkd_ext.models.gans.diffaug import (cutout, diff_augment, parse_policy, rand_color,
                                          rand_cutout, rand_translation, translate)


def test_diffaug_shape_grad_reproducible():
    x = torch.randn(6, 3, 32, 32, requires_grad=True)
    a = diff_augment(
        x, 'color,translation,cutout', generator=torch.Generator().manual_seed(3))
    b = diff_augment(
        x, 'color,translation,cutout', generator=torch.Generator().manual_seed(3))
    c = diff_augment(
        x, 'color,translation,cutout', generator=torch.Generator().manual_seed(4))
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, c)
    a.square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert parse_policy('cutout, translation') == ('translation', 'cutout')
    with pytest.raises(ValueError, match='diffaug_policy'):
        parse_policy('translation,rotate')


def test_translation_exact_and_range():
    x = torch.arange(1., 17.).view(1, 1, 4, 4)
    t = translate(x, torch.tensor([[1, -1]]))
    expect = torch.tensor([[0, 0, 0, 0], [2, 3, 4, 0], [6, 7, 8, 0], [10, 11, 12, 0.]])
    assert torch.equal(t[0, 0], expect)  # down 1, left 1, zero padding
    # random shifts at 32x32 stay within +-4 px: content is a shifted copy
    img = torch.rand(64, 1, 32, 32) + 1  # strictly positive
    out = rand_translation(img, generator=torch.Generator().manual_seed(0))
    found = set()
    for i in range(64):
        for dy in range(-4, 5):
            for dx in range(-4, 5):
                ref = translate(img[i:i + 1], torch.tensor([[dy, dx]]))
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
    centred = cutout(torch.ones(1, 1, 32, 32), torch.tensor([[16, 16]]))
    assert torch.equal((centred[0, 0] == 0).nonzero().min(0).values, torch.tensor([8, 8]))


def test_color_changes_image():
    x = torch.rand(4, 3, 8, 8) * 2 - 1
    out = rand_color(x, generator=torch.Generator().manual_seed(0))
    assert out.shape == x.shape and not torch.allclose(out, x)
