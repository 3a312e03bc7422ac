"""ViDT Swin backbone: levels / strides / widths, [DET] isolation, padding masks, the
reference RAM [DET] path (position encoding on patch keys and values, -100 on padding,
no output norms)."""
import pytest
import torch
import torch.nn.functional as F

import mmkd_ext  # noqa: F401
from mmkd_ext.models.backbones.vidt_swin import (RAMSwinBlock, ViDTSwinTransformer,
                                                 det_attention)


@pytest.fixture(scope='module')
def nano():
    torch.manual_seed(0)
    model = ViDTSwinTransformer(arch='nano')
    model.init_weights()
    return model.eval()


def test_nano_levels_strides_widths(nano):
    x = torch.randn(2, 3, 128, 192)
    outs = nano(x)
    assert len(outs) == 5
    for feat, stride, width in zip(outs[:4], (8, 16, 32, 64), (96, 192, 384, 256)):
        assert feat.shape == (2, width, 128 // stride, 192 // stride)
    assert outs[4].shape == (2, 100, 384)
    assert all(torch.isfinite(o).all() for o in outs)


def test_det_tokens_never_change_patch_outputs(nano):
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        ref = nano(x)
        saved = nano.det_token.detach().clone(), nano.det_pos_embed.detach().clone()
        nano.det_token.add_(torch.randn_like(nano.det_token))
        nano.det_pos_embed.add_(torch.randn_like(nano.det_pos_embed))
        new = nano(x)
        nano.det_token.copy_(saved[0])
        nano.det_pos_embed.copy_(saved[1])
    for a, b in zip(ref[:4], new[:4]):
        assert torch.equal(a, b)
    assert not torch.allclose(ref[4], new[4])


def test_det_attention_matches_hand_softmax():
    torch.manual_seed(1)
    q, k, v = (torch.randn(2, 3, 5, 4) for _ in range(3))
    pk, pv = torch.randn(2, 3, 6, 4), torch.randn(2, 3, 6, 4)
    keep = torch.tensor([[True] * 6, [True] * 4 + [False] * 2])
    out = det_attention(q, k, v, pk, pv, keep)
    keys, vals = torch.cat([pk, k], 2), torch.cat([pv, v], 2)
    logits = q @ keys.transpose(-1, -2) / 2.0
    allowed = torch.cat([keep, torch.ones(2, 5, dtype=torch.bool)], 1)
    logits = logits + (~allowed[:, None, None]).float() * -100.0  # reference constant
    expected = logits.softmax(-1) @ vals
    assert torch.allclose(out, expected, atol=1e-6)


def test_padded_patches_are_masked_in_cross_attention():
    torch.manual_seed(2)
    blk = RAMSwinBlock(48, 3, 192, window_size=7).eval()
    hw = (4, 4)
    x = torch.randn(1, 16, 48)
    det = torch.randn(1, 10, 48)
    det_pos = torch.randn(1, 10, 256)
    pos = torch.randn(1, 16, 48)
    keep = torch.ones(1, 16, dtype=torch.bool)
    keep[0, 12:] = False  # last row of patches is padding
    x2 = x.clone()
    x2[0, 12:] += 5 * torch.randn(4, 48)
    with torch.no_grad():
        _, det_a = blk(x, det, det_pos, hw, (pos, keep))
        _, det_b = blk(x2, det, det_pos, hw, (pos, keep))
        _, det_c = blk(x2, det, det_pos, hw, (pos, None))
    assert torch.allclose(det_a, det_b, atol=1e-6)
    assert not torch.allclose(det_a, det_c, atol=1e-3)


def test_backbone_uses_padding_mask(nano):
    x = torch.randn(1, 3, 64, 64)
    mask = torch.zeros(1, 64, 64, dtype=torch.bool)
    mask[:, :, 32:] = True
    with torch.no_grad():
        det_plain = nano(x)[4]
        det_masked = nano(x, mask)[4]
    assert not torch.allclose(det_plain, det_masked)


def test_bad_inputs_raise_clear_errors(nano):
    with pytest.raises(KeyError, match='arch'):
        ViDTSwinTransformer(arch='huge')
    with pytest.raises(ValueError, match='N, 3, H, W'):
        nano(torch.randn(1, 1, 64, 64))
    with pytest.raises(ValueError, match='padding mask'):
        nano(torch.randn(1, 3, 64, 64), torch.zeros(1, 32, 32, dtype=torch.bool))


def test_cross_attention_keys_and_values_carry_the_position_encoding():
    """[DET] path of a cross-attention block against the reference formula: patch keys
    AND values from qkv(norm1(x) + pos)."""
    torch.manual_seed(3)
    blk = RAMSwinBlock(48, 3, 192, window_size=7).eval()
    for p in blk.parameters():
        p.data.normal_(0, 0.3)
    hw, c, h = (3, 4), 48, 3
    x, det = torch.randn(2, 12, c), torch.randn(2, 5, c)
    det_pos, pos = torch.randn(1, 5, 256), torch.randn(2, 12, c)
    keep = torch.ones(2, 12, dtype=torch.bool)
    keep[1, 8:] = False
    with torch.no_grad():
        _, out = blk(x, det, det_pos, hw, (pos, keep))
        w, b = blk.attn.w_msa.qkv.weight, blk.attn.w_msa.qkv.bias
        d_in = blk.norm1(det) + blk.det_pos_linear(det_pos)
        q, k, v = F.linear(d_in, w, b).chunk(3, -1)
        _, kp, vp = F.linear(blk.norm1(x) + pos, w, b).chunk(3, -1)

        def heads(t):
            return t.view(t.shape[0], t.shape[1], h, c // h).transpose(1, 2)

        keys, vals = heads(torch.cat([kp, k], 1)), heads(torch.cat([vp, v], 1))
        logits = heads(q) @ keys.transpose(-1, -2) * (c // h)**-0.5
        bias = torch.cat([(~keep).float() * -100., torch.zeros(2, 5)], 1)
        att = (logits + bias[:, None, None]).softmax(-1) @ vals
        y = det + blk.attn.w_msa.proj(att.transpose(1, 2).reshape(2, 5, c))
        expected = y + blk.ffn.layers[1](blk.ffn.layers[0](blk.norm2(y)))
    assert torch.allclose(out, expected, atol=1e-5)


def test_patch_maps_have_no_output_norm(nano):
    """The stride-8/16/32 maps are the blocks' outputs as they are (the reference's
    norm1..3 are unused): no such modules, and each map equals the stage's input to
    its patch merging."""
    assert not any(hasattr(nano, f'norm{i}') for i in (1, 2, 3))
    seen = []
    hooks = [
        nano.stages[i].downsample.register_forward_pre_hook(
            lambda m, args: seen.append(args[0])) for i in (1, 2, 3)
    ]
    try:
        with torch.no_grad():
            outs = nano(torch.randn(1, 3, 64, 96))
    finally:
        for hk in hooks:
            hk.remove()
    for feat, tokens in zip(outs[:3], seen):
        assert torch.equal(feat.flatten(2).transpose(1, 2), tokens)


def test_cross_attention_mask_follows_the_reference_resizing(nano):
    """Image mask -> (nearest) patch grid / 8 -> (nearest) stage-4 grid, as the
    reference does; differs from one direct resize for sizes not divisible by 32."""
    mask = torch.zeros(1, 200, 328, dtype=torch.bool)
    mask[:, 100:, :] = True
    mask[:, :, 166:] = True
    base = nano._cross_mask(mask, (50, 82))  # patch-embedding grid of 200x328
    assert base.shape[-2:] == (6, 10)
    small, keep = nano._stage_mask(base, (7, 11))  # stage-4 grid
    expected = F.interpolate(
        F.interpolate(mask[None].float(), size=(6, 10)), size=(7, 11)).bool()[0]
    assert torch.equal(small, expected) and torch.equal(keep, ~expected.flatten(1))
    direct = F.interpolate(mask[None].float(), size=(7, 11)).bool()[0]
    assert not torch.equal(direct, expected)
