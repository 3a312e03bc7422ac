"""Structure of ViDT nano / tiny / small / base against the reference checkpoint
layouts (names and shapes of every entry, ``tests/data/checkpoint_layouts/vidt``).

The models are built on the ``meta`` device (no memory, no init), the reference state
dicts are meta tensors of the listed shapes: the converter must map every reference
entry onto exactly our entries (or drop it for a documented reason), shapes equal, and
the inverse must give back exactly the reference names and shapes.
"""
import os.path as osp
import re

import pytest
import torch

import mmkd_ext  # noqa: F401
from mmkd_ext.models.detectors.vidt_weights import (REFERENCE_UNUSED,
                                                    convert_vidt_reference,
                                                    to_vidt_reference)

LAYOUTS = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))), 'tests',
    'data', 'checkpoint_layouts', 'vidt')
VARIANTS = {
    'nano': 'swin_nano.txt',
    'tiny': 'swin_tiny.txt',
    'small': 'swin_small.txt',
    'base': 'swin_base_win7_22k.txt'
}


def read_layout(arch):
    """(OrderedDict name -> shape, header numbers (tensors, parameters))."""
    path = osp.join(LAYOUTS, VARIANTS[arch])
    shapes = {}
    with open(path) as f:
        header = f.readline()
        for line in f:
            if line.strip():
                name, shape = re.match(r'(\S+) \((.*)\)$', line.strip()).groups()
                shapes[name] = tuple(int(d) for d in shape.split(',') if d.strip())
    tensors, params = map(int,
                          re.search(r'(\d+) tensors, (\d+) parameters', header).groups())
    return shapes, (tensors, params)


def meta_state(shapes):
    return {k: torch.empty(s, device='meta') for k, s in shapes.items()}


@pytest.fixture(scope='module', params=list(VARIANTS))
def variant(request, build_vidt):
    arch = request.param
    with torch.device('meta'):
        model = build_vidt(num_classes=80, arch=arch, init=False)
    shapes, header = read_layout(arch)
    return arch, model, shapes, header


def numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def test_layout_file_is_read_completely(variant):
    _, _, shapes, (tensors, params) = variant
    assert len(shapes) == tensors
    # the header counts parameters once: buffers and the shared
    # transformer.decoder.bbox_embed (= bbox_embed) excluded
    assert sum(
        numel(s) for k, s in shapes.items() if not k.endswith('relative_position_index')
        and not k.startswith('transformer.decoder.bbox_embed.')) == params


def test_reference_maps_onto_our_model(variant):
    arch, model, shapes, header = variant
    ours = convert_vidt_reference(meta_state(shapes))
    own = {
        k: tuple(v.shape)
        for k, v in model.state_dict().items()
        if not k.endswith('relative_position_index')
    }
    assert sorted(set(own) - set(ours)) == []
    assert sorted(set(ours) - set(own)) == []
    bad = {
        k: (tuple(v.shape), own[k])
        for k, v in ours.items() if tuple(v.shape) != own[k]
    }
    assert not bad, f'{arch}: {bad}'
    # what is dropped is exactly the documented unused entries
    dropped = [k for k in shapes if any(re.search(p, k) for p in REFERENCE_UNUSED)]
    assert len(ours) == len(shapes) - len(dropped)
    assert {f'backbone.norm{i}.weight' for i in (1, 2, 3)} <= set(dropped)
    # our parameter count = the reference's (header) minus its unused entries and
    # the 11 class rows per prediction layer without an MMDet label (91 -> 80)
    unused = sum(
        numel(shapes[k]) for k in dropped if not k.endswith('relative_position_index')
        and not k.startswith('transformer.decoder.bbox_embed.'))
    class_rows = 7 * 11 * (256 + 1)
    assert sum(p.numel() for p in model.parameters()) == header[1] - unused - class_rows


def test_inverse_gives_the_reference_layout(variant):
    arch, model, shapes, _ = variant
    back = to_vidt_reference(model.state_dict(), complete=True)
    assert list(back) == list(shapes), f'{arch}: names or order differ'
    bad = {
        k: (tuple(v.shape), shapes[k])
        for k, v in back.items() if tuple(v.shape) != shapes[k]
    }
    assert not bad, f'{arch}: {bad}'
