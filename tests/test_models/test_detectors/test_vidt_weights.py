"""ViDT reference-checkpoint converter (round trip on the published layout), the
official Swin ImageNet loader (unfold order), and loading through
``init_cfg=dict(type='Pretrained')`` for the backbone and the detector."""
import os.path as osp
import re
import runpy

import pytest
import torch

import mmkd_ext  # noqa: F401
from mmkd_ext.models.backbones.vidt_swin import ViDTSwinTransformer
from mmkd_ext.models.backbones.vidt_swin_weights import unfold_order
from mmkd_ext.models.detectors.vidt_weights import (COCO_IDS, REFERENCE_UNUSED,
                                                    convert_vidt_reference,
                                                    load_vidt_reference,
                                                    to_vidt_reference)
from mmkd_ext.models.utils.checkpoint import CheckpointError

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
CONVERTER = osp.join(REPO, 'tools', 'model_converters', 'vidt_to_mmkd.py')

LAYOUT = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))), 'tests',
    'data', 'checkpoint_layouts', 'vidt',
    'swin_nano.txt')


def synthetic_reference(path=LAYOUT):
    if not osp.isfile(path):
        pytest.skip(f'layout file {path} not available')
    gen = torch.Generator().manual_seed(0)
    state = {}
    for line in open(path):
        if line.startswith('#') or not line.strip():
            continue
        name, shape = re.match(r'(\S+) \((.*)\)', line.strip()).groups()
        dims = tuple(int(d) for d in shape.split(',') if d.strip())
        state[name] = torch.randn(dims, generator=gen)
    return state


def test_unfold_order_inverse():
    w, n = torch.randn(5, 16), torch.randn(16)
    assert torch.equal(unfold_order(unfold_order(w), inverse=True), w)
    assert torch.equal(unfold_order(unfold_order(n), inverse=True), n)


def test_reference_round_trip(tmp_path, build_vidt):
    ref = synthetic_reference()
    model = build_vidt(num_classes=80)
    ours = convert_vidt_reference(ref)
    own = {
        k: v
        for k, v in model.state_dict().items()
        if not k.endswith('relative_position_index')
    }
    assert set(ours) == set(own)
    assert all(ours[k].shape == own[k].shape for k in own)
    torch.save(dict(model=ref), tmp_path / 'vidt_nano.pth')
    load_vidt_reference(model, tmp_path / 'vidt_nano.pth')
    assert torch.equal(model.bbox_head.cls_branches[3].weight,
                       ref['class_embed.3.weight'][COCO_IDS])
    back = to_vidt_reference(model.state_dict())
    kept = [k for k in ref if not any(re.search(p, k) for p in REFERENCE_UNUSED)]
    assert set(back) == set(kept)
    for k in kept:
        if k.startswith('class_embed.'):
            assert torch.equal(back[k][COCO_IDS], ref[k][COCO_IDS]), k
        else:
            assert torch.equal(back[k], ref[k]), k


def test_reference_unknown_and_missing_keys_are_clear(tmp_path, build_vidt):
    ref = synthetic_reference()
    with pytest.raises(CheckpointError, match='unknown entries.*foo.bar'):
        convert_vidt_reference(dict(ref, **{'foo.bar': torch.zeros(1)}))
    with pytest.raises(CheckpointError, match='unknown entries.*backbone.layers.0.foo'):
        convert_vidt_reference(dict(ref, **{'backbone.layers.0.foo': torch.zeros(1)}))
    del ref['transformer.reference_points.bias']
    torch.save(dict(model=ref), tmp_path / 'broken.pth')
    with pytest.raises(CheckpointError, match='missing key.*reference_points_fc.bias'):
        load_vidt_reference(build_vidt(num_classes=80), tmp_path / 'broken.pth')


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


def test_backbone_loads_reference_and_own_layouts(tmp_path, build_vidt):
    """init_cfg of the backbone takes a whole ViDT reference checkpoint (its backbone
    part, converted) or a ViDT checkpoint of ours (its ``backbone.`` part)."""
    ref = synthetic_reference()
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


def test_detector_init_cfg_loads_reference_and_own_checkpoints(tmp_path, build_vidt):
    ref = synthetic_reference()
    torch.save(dict(model=ref), tmp_path / 'vidt_nano_ref.pth')
    model = build_vidt(
        num_classes=80,
        init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'vidt_nano_ref.pth')))
    assert torch.equal(model.bbox_head.cls_branches[6].bias,
                       ref['class_embed.6.bias'][COCO_IDS])
    assert torch.equal(model.decoder.layers[2].norms[0].weight,
                       ref['transformer.decoder.layers.2.norm2.weight'])
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), tmp_path / 'ours.pth')
    again = build_vidt(
        num_classes=80,
        init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'ours.pth')))
    for k, v in model.state_dict().items():
        assert torch.equal(again.state_dict()[k], v), k
    # 10 classes cannot take the 91 COCO logits: strict, naming the config key
    with pytest.raises(CheckpointError, match='model.init_cfg.checkpoint.*shape'):
        build_vidt(
            num_classes=10,
            init_cfg=dict(
                type='Pretrained', checkpoint=str(tmp_path / 'vidt_nano_ref.pth')))


def test_converter_tool_round_trip(tmp_path):
    """The command line (run in-process: its ``main(argv)``) both ways."""
    main = runpy.run_path(CONVERTER, run_name='vidt_to_mmkd')['main']
    ref = synthetic_reference()
    torch.save(dict(model=ref), tmp_path / 'ref.pth')
    main([str(tmp_path / 'ref.pth'), str(tmp_path / 'ours.pth')])
    ours = torch.load(tmp_path / 'ours.pth', weights_only=True)['state_dict']
    assert set(ours) == set(convert_vidt_reference(ref))
    main(['--reverse', str(tmp_path / 'ours.pth'), str(tmp_path / 'back.pth')])
    back = torch.load(tmp_path / 'back.pth', weights_only=True)['model']
    assert list(back) == list(ref)  # the complete reference layout
    for k, v in back.items():
        if any(re.search(p, k) for p in REFERENCE_UNUSED) or k.startswith('class_embed'):
            continue
        assert torch.equal(v, ref[k]), k
