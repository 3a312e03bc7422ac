"""ViDT reference-checkpoint converter (round trip on the published layout) and the
official Swin ImageNet loader (unfold order)."""
import os.path as osp
import re

import pytest
import torch

import mmkd_ext  # noqa: F401
from mmkd_ext.models.backbones.vidt_swin import ViDTSwinTransformer
from mmkd_ext.models.detectors.vidt_weights import (COCO_IDS, REFERENCE_UNUSED,
                                                    convert_vidt_reference,
                                                    load_vidt_reference,
                                                    to_vidt_reference, unfold_order)

import os.path as _osp  # noqa: E402
import sys as _sys  # noqa: E402
_sys.path.insert(0, _osp.dirname(_osp.abspath(__file__)))
from vidt_helpers import build_nano

# the design folder lives beside the repository (CI: a clone with shared/ beside it)
LAYOUT = _osp.abspath(_osp.join(_osp.dirname(__file__), '..', '..', '..', 'shared',
                                'design', 'checkpoint_layouts', 'vidt', 'swin_nano.txt'))
if not _osp.isfile(LAYOUT):
    LAYOUT = '/work/shared/design/checkpoint_layouts/vidt/swin_nano.txt'


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


def test_reference_round_trip(tmp_path):
    ref = synthetic_reference()
    model = build_nano(num_classes=80)
    ours = convert_vidt_reference(ref)
    own = {k: v for k, v in model.state_dict().items()
           if not k.endswith('relative_position_index')}
    assert set(ours) == set(own)
    assert all(ours[k].shape == own[k].shape for k in own)
    torch.save(dict(model=ref), tmp_path / 'vidt_nano.pth')
    load_vidt_reference(model, tmp_path / 'vidt_nano.pth')
    assert torch.equal(model.bbox_head.cls_branches[3].weight,
                       ref['class_embed.3.weight'][COCO_IDS])
    back = to_vidt_reference(model.state_dict())
    kept = [k for k in ref if not any(p.search(k) for p in REFERENCE_UNUSED)]
    assert set(back) == set(kept)
    for k in kept:
        if k.startswith('class_embed.'):
            assert torch.equal(back[k][COCO_IDS], ref[k][COCO_IDS]), k
        else:
            assert torch.equal(back[k], ref[k]), k


def test_reference_unknown_and_missing_keys_are_clear(tmp_path):
    ref = synthetic_reference()
    with pytest.raises(KeyError, match='unknown entries'):
        convert_vidt_reference(dict(ref, **{'foo.bar': torch.zeros(1)}))
    del ref['transformer.reference_points.bias']
    torch.save(dict(model=ref), tmp_path / 'broken.pth')
    with pytest.raises(KeyError, match='missing keys.*reference_points_fc.bias'):
        load_vidt_reference(build_nano(num_classes=80), tmp_path / 'broken.pth')


def test_official_swin_checkpoint_loads_with_unfold_fix(tmp_path):
    torch.manual_seed(0)
    src = ViDTSwinTransformer(arch='nano')
    src.init_weights()
    full = to_vidt_reference({'backbone.' + k: v for k, v in src.state_dict().items()})
    official = {k[len('backbone.'):]: v for k, v in full.items()
                if not re.search(r'det_|^backbone\.norm\d\.|layers\.3\.downsample', k)}
    official.update({'norm.weight': torch.ones(384), 'norm.bias': torch.zeros(384),
                     'head.weight': torch.zeros(1000, 384)})
    torch.save(dict(model=official), tmp_path / 'swin_nano.pth')
    dst = ViDTSwinTransformer(arch='nano', pretrained=str(tmp_path / 'swin_nano.pth'))
    dst.init_weights()
    for k, v in src.state_dict().items():
        if re.search(r'det_|^norm\d\.|stages\.3\.downsample', k):
            continue
        assert torch.equal(dst.state_dict()[k], v), k
    # a checkpoint of another arch fails with a clear message
    with pytest.raises(ValueError, match='shape mismatch'):
        ViDTSwinTransformer(arch='tiny', pretrained=str(tmp_path / 'swin_nano.pth')
                            ).init_weights()
    with pytest.raises(FileNotFoundError, match='model.backbone.pretrained'):
        ViDTSwinTransformer(arch='nano', pretrained=str(tmp_path / 'nope.pth')
                            ).init_weights()
