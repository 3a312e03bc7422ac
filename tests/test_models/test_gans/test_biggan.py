"""BigGAN G / D: gan.md sizes, shapes, the projection head, spectral norm, init."""
import pytest
import torch
import torch.nn as nn

from mmkd_ext.models.gans import BigGANDiscriminator, BigGANGenerator


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
    g, d = BigGANGenerator(
        10, ch=64), BigGANDiscriminator(
            10, ch=64, distill_dims=(128, 32))
    for net in (g, d):
        for name, m in net.named_modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                assert hasattr(m, 'weight_orig'), name
                assert m.weight_orig.std().item() == pytest.approx(0.02, rel=0.3)
                # 1 power iteration, eps 1e-8
                hook = [
                    h for h in m._forward_pre_hooks.values()
                    if type(h).__name__ == 'SpectralNorm'
                ][0]
                assert hook.n_power_iterations == 1 and hook.eps == 1e-8
    assert hasattr(d.embed, 'weight_orig')  # D's projection embedding: SN
    assert not hasattr(g.blocks[0].bn1.gain, 'weight_orig')  # G's: not SN
    # spectral norm of the effective weight is ~1 after some power iterations
    lin = d.linear
    for _ in range(30):
        lin(torch.randn(2, 64))
    assert torch.linalg.matrix_norm(lin.weight, 2).item() == pytest.approx(1, abs=1e-3)
