"""Swin / ViDT backbone weights: the official Swin ImageNet loader (unfold order of the
patch merging), and the backbone's ``init_cfg=dict(type='Pretrained')`` taking a whole
ViDT reference checkpoint or one of ours."""
import re

import pytest
import torch

import mmkd_ext  # noqa: F401
from mmkd_ext.models.backbones.vidt_swin import ViDTSwinTransformer
from mmkd_ext.models.backbones.vidt_swin_weights import unfold_order
from mmkd_ext.models.detectors.vidt_weights import to_vidt_reference
from mmkd_ext.models.utils.checkpoint import CheckpointError


def test_unfold_order_inverse():
    w, n = torch.randn(5, 16), torch.randn(16)
    assert torch.equal(unfold_order(unfold_order(w), inverse=True), w)
    assert torch.equal(unfold_order(unfold_order(n), inverse=True), n)


def test_official_swin_checkpoint_loads_with_unfold_fix(tmp_path):
    torch.manual_seed(0)
    src = ViDTSwinTransformer(arch='nano')
    src.init_weights()
    full = to_vidt_reference({'backbone.' + k: v for k, v in src.state_dict().items()})
    official = {
        k[len('backbone.'):]: v
        for k, v in full.items()
        if not re.search(r'det_|^backbone\.norm\d\.|layers\.3\.downsample', k)
    }
    official.update({
        'norm.weight': torch.ones(384),
        'norm.bias': torch.zeros(384),
        'head.weight': torch.zeros(1000, 384)
    })
    torch.save(dict(model=official), tmp_path / 'swin_nano.pth')
    dst = ViDTSwinTransformer(arch='nano', pretrained=str(tmp_path / 'swin_nano.pth'))
    dst.init_weights()
    for k, v in src.state_dict().items():
        if re.search(r'det_|^norm\d\.|stages\.3\.downsample', k):
            continue
        assert torch.equal(dst.state_dict()[k], v), k
    # the same through init_cfg (the documented route)
    dst2 = ViDTSwinTransformer(
        arch='nano',
        init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'swin_nano.pth')))
    dst2.init_weights()
    assert torch.equal(dst2.stages[2].downsample.reduction.weight,
                       src.stages[2].downsample.reduction.weight)
    # a checkpoint of another arch fails with a clear message
    with pytest.raises(
            CheckpointError,
            match='shape mismatch.*model.backbone|'
            'model.backbone.*shape mismatch'):
        ViDTSwinTransformer(
            arch='tiny', pretrained=str(tmp_path / 'swin_nano.pth')).init_weights()
    with pytest.raises(CheckpointError, match='model.backbone.pretrained'):
        ViDTSwinTransformer(
            arch='nano', pretrained=str(tmp_path / 'nope.pth')).init_weights()
    with pytest.raises(CheckpointError, match='model.backbone.init_cfg.checkpoint'):
        ViDTSwinTransformer(
            arch='nano',
            init_cfg=dict(type='Pretrained',
                          checkpoint=str(tmp_path / 'nope.pth'))).init_weights()
    with pytest.raises(ValueError, match='model.backbone.init_cfg'):
        ViDTSwinTransformer(arch='nano', init_cfg=dict(type='Kaiming'))


def test_backbone_loads_reference_and_own_layouts(tmp_path, build_vidt,
                                                  vidt_reference_state):
    """init_cfg of the backbone takes a whole ViDT reference checkpoint (its backbone
    part, converted) or a ViDT checkpoint of ours (its ``backbone.`` part)."""
    ref = vidt_reference_state()
    torch.save(dict(model=ref), tmp_path / 'vidt_nano_ref.pth')
    bb = ViDTSwinTransformer(
        arch='nano',
        init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'vidt_nano_ref.pth')))
    bb.init_weights()
    assert torch.equal(bb.stages[3].blocks[1].attn.w_msa.qkv.weight,
                       ref['backbone.layers.3.blocks.1.attn.qkv.weight'])
    assert torch.equal(bb.stages[0].downsample.reduction.weight,
                       unfold_order(ref['backbone.layers.0.downsample.reduction.weight']))
    assert torch.equal(bb.det_token, ref['backbone.det_token'])
    model = build_vidt(num_classes=80)
    torch.save(dict(state_dict=model.state_dict()), tmp_path / 'ours.pth')
    bb2 = ViDTSwinTransformer(
        arch='nano',
        init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'ours.pth')))
    bb2.init_weights()
    for k, v in model.backbone.state_dict().items():
        assert torch.equal(bb2.state_dict()[k], v), k
