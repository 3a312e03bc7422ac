"""ViDT reference-checkpoint converter (round trip on the published layout, clear
errors) and the detector loading reference and own checkpoints through
``init_cfg=dict(type='Pretrained')``."""
import re

import pytest
import torch

import mmkd_ext  # noqa: F401
from mmkd_ext.models.detectors.vidt_weights import (COCO_IDS, REFERENCE_UNUSED,
                                                    convert_vidt_reference,
                                                    load_vidt_reference,
                                                    to_vidt_reference)
from mmkd_ext.models.utils.checkpoint import CheckpointError


def test_reference_round_trip(tmp_path, build_vidt, vidt_reference_state):
    ref = vidt_reference_state()
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


def test_reference_unknown_and_missing_keys_are_clear(tmp_path, build_vidt,
                                                      vidt_reference_state):
    ref = vidt_reference_state()
    with pytest.raises(CheckpointError, match='unknown entries.*foo.bar'):
        convert_vidt_reference(dict(ref, **{'foo.bar': torch.zeros(1)}))
    with pytest.raises(CheckpointError, match='unknown entries.*backbone.layers.0.foo'):
        convert_vidt_reference(dict(ref, **{'backbone.layers.0.foo': torch.zeros(1)}))
    del ref['transformer.reference_points.bias']
    torch.save(dict(model=ref), tmp_path / 'broken.pth')
    with pytest.raises(CheckpointError, match='missing key.*reference_points_fc.bias'):
        load_vidt_reference(build_vidt(num_classes=80), tmp_path / 'broken.pth')


def test_detector_init_cfg_loads_reference_and_own_checkpoints(tmp_path, build_vidt,
                                                               vidt_reference_state):
    ref = vidt_reference_state()
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
