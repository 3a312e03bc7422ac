"""Our ViDT-nano is the reference network: given the reference implementation's weights
(naver-ai/vidt, converted by the project's converter on load), it reproduces every
tensor the reference computed, for one unpadded image and for a padded pair.

Fixture: ``<repo>/../shared/fixtures/vidt_nano_reference`` (see its README): reference
layout weights (float16, cast to float32 here, exactly as the reference outputs were
computed) and the reference's outputs at every stage.
"""
import os.path as osp

import pytest
import torch
from mmdet.structures import DetDataSample

import mmkd_ext  # noqa: F401
from mmkd_ext.models.detectors.vidt import padding_mask_from_samples
from mmkd_ext.models.detectors.vidt_weights import COCO_IDS, convert_vidt_reference
from mmkd_ext.models.utils.checkpoint import read_checkpoint, unwrap_state_dict

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
FIXTURE = osp.normpath(osp.join(REPO, '..', 'shared', 'fixtures', 'vidt_nano_reference'))
WEIGHTS = osp.join(FIXTURE, 'vidt_nano_reference_weights_fp16.pth')
OUTPUTS = osp.join(FIXTURE, 'reference_outputs.pt')
pytestmark = pytest.mark.skipif(
    not (osp.isfile(WEIGHTS) and osp.isfile(OUTPUTS)),
    reason=f'ViDT reference fixture not found in {FIXTURE} (shared/fixtures/'
    'vidt_nano_reference beside the repository)')

TOL = 1e-4  # absolute, every entry
CASES = ('single', 'padded_pair')
ENTRIES = ('backbone_features', 'det_tokens', 'det_pos', 'decoder_states',
           'init_reference', 'inter_references', 'pred_logits', 'pred_boxes')


def _reference_weights_fp32():
    state = unwrap_state_dict(read_checkpoint(WEIGHTS, 'fixture'), 'fixture', WEIGHTS)
    return {k: v.float() if v.is_floating_point() else v for k, v in state.items()}


@pytest.fixture(scope='module')
def model(tmp_path_factory, build_vidt):
    """ViDT-nano (80 classes, eval, float32) loading the reference file through
    ``init_cfg=dict(type='Pretrained')`` (the converter runs inside init_weights)."""
    path = tmp_path_factory.mktemp('vidt_ref') / 'vidt_nano_reference_fp32.pth'
    torch.save(dict(model=_reference_weights_fp32()), path)
    torch.manual_seed(0)
    net = build_vidt(
        num_classes=80, init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    return net.eval()


@pytest.fixture(scope='module')
def reference():
    return torch.load(OUTPUTS, map_location='cpu', weights_only=True)


def run_ours(model, case):
    """Our tensors under the fixture's names and layouts (91 -> 80 ids on its side)."""
    images = case['images']
    pad = tuple(images.shape[-2:])
    samples = [
        DetDataSample(
            metainfo=dict(
                img_shape=tuple(map(int, hw)),
                ori_shape=tuple(map(int, hw)),
                batch_input_shape=pad,
                pad_shape=pad,
                scale_factor=(1., 1.))) for hw in case['image_sizes']
    ]
    mask = padding_mask_from_samples(images, samples)
    expected_mask = case['masks']
    assert torch.equal(
        mask if mask is not None else torch.zeros_like(expected_mask), expected_mask)
    captured = {}
    hook = model.backbone.register_forward_hook(
        lambda m, args, out: captured.setdefault('backbone', out))
    try:
        with torch.no_grad():
            feats = model.extract_feat(images, samples)
            head_in = model.forward_transformer(feats, samples)
            logits, boxes = model.bbox_head(head_in['hidden_states'],
                                            head_in['references'])
    finally:
        hook.remove()
    backbone = captured['backbone']
    refs = head_in['references']
    return dict(
        backbone_features=list(backbone[:4]),
        det_tokens=backbone[4].transpose(1, 2),
        det_pos=model.backbone.det_pos_embed.detach().transpose(1, 2),
        decoder_states=head_in['hidden_states'],
        init_reference=refs[0],
        inter_references=torch.stack(refs[1:]),
        pred_logits=logits,
        pred_boxes=boxes)


@pytest.fixture(scope='module')
def ours(model, reference):
    return {name: run_ours(model, reference[name]) for name in CASES}


def max_errors(ours_entry, ref_entry, name):
    """Max abs error per level / layer (a list) of one entry."""
    if name == 'pred_logits':
        ref_entry = ref_entry[..., COCO_IDS]
    if name == 'backbone_features':
        pairs = list(zip(ours_entry, ref_entry))
        assert len(ours_entry) == len(ref_entry) == 4
    elif name in ('decoder_states', 'inter_references', 'pred_logits', 'pred_boxes'):
        pairs = list(zip(ours_entry, ref_entry))
        assert ours_entry.shape == ref_entry.shape, (name, ours_entry.shape)
    else:
        pairs = [(ours_entry, ref_entry)]
    errs = []
    for a, b in pairs:
        assert a.shape == b.shape, (name, tuple(a.shape), tuple(b.shape))
        errs.append((a.float() - b.float()).abs().max().item())
    return errs


def test_reference_file_converts_completely():
    """Every reference entry is mapped or dropped for a documented reason, and the
    stride-8/16/32 output norms are among the dropped ones (the reference never
    applies them)."""
    ref = _reference_weights_fp32()
    ours = convert_vidt_reference(ref)
    assert not any(k.startswith('backbone.norm') for k in ours)
    assert {f'backbone.norm{i}.weight' for i in (1, 2, 3)} <= set(ref)
    assert len(ours) == len(ref) - sum(
        k.startswith(('backbone.norm', 'transformer.level_embed',
                      'transformer.decoder.bbox_embed')) or 'relative_position_index' in k
        or '.downsample.expansion' in k or '.downsample.norm2' in k for k in ref)


@pytest.mark.parametrize('entry', ENTRIES)
@pytest.mark.parametrize('case', CASES)
def test_matches_reference(ours, reference, case, entry):
    errs = max_errors(ours[case][entry], reference[case][entry], entry)
    assert max(errs) <= TOL, (f'{case}/{entry}: max abs error per level/layer '
                              f'{[f"{e:.2e}" for e in errs]} > {TOL}')


def test_same_final_detections(ours, reference):
    """Consequence of the above: every query keeps its top class (queries whose two
    best reference logits are closer than the tolerance are not decidable)."""
    for case in CASES:
        ref_logits = reference[case]['pred_logits'][-1][..., COCO_IDS]
        best2 = ref_logits.topk(2, dim=-1).values
        clear = (best2[..., 0] - best2[..., 1]) > 2 * TOL
        top = ours[case]['pred_logits'][-1].argmax(-1)
        assert torch.equal(top[clear], ref_logits.argmax(-1)[clear]), case
