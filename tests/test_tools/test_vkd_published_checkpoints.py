"""The VKD authors' published checkpoints convert and evaluate through our configs
(issue 23): ``tools/model_converters/vkd_deit_to_mmkd.py`` (DeiT students) and
``tools/model_converters/vidt_to_mmkd.py`` (ViDT with the six VKD projectors).

The files of ``tests/data/vkd_reference/`` have the layout of the published ones and
were written by the reference code itself, with small random weights, together with
the reference's outputs (``tools/model_converters/make_vkd_reference_files.py``, see
its docstring and the README there): roymiles/vkd ``models/deit.py`` on timm for the
DeiT student, naver-ai/vidt (CPU) plus roymiles/vkd's ``OrthogonalLinear`` projectors
for ViDT. Our converted models reproduce those outputs to 1e-4, and ``tools/test.py``
evaluates the converted files on the digits sets with the detections / class scores
of the reference.
"""
import hashlib
import json
import os.path as osp
import pickle

import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.registry import DefaultScope

import mmkd_ext  # noqa: F401
from mmkd_ext.models.backbones.vkd_deit_weights import (convert_vkd_deit, projector_note,
                                                        unwrap_vkd_deit)
from mmkd_ext.models.detectors.vidt import padding_mask_from_samples
from mmkd_ext.models.detectors.vidt_vkd_weights import (VKD_PROJECTOR_PAIRS,
                                                        split_vkd_projectors)
from mmkd_ext.models.utils.checkpoint import (REFERENCE_TRAINING_GLOBALS, CheckpointError,
                                              UnsafeCheckpointError, read_checkpoint)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DATA = osp.join(REPO, 'tests', 'data', 'vkd_reference')
DEIT = osp.join(DATA, 'deit_vkd_reference.pt')
VIDT = osp.join(DATA, 'vidt_vkd_reference.pt')
TOL = 1e-4

# the sizes the reference files were made with (make_vkd_reference_files.py)
DEIT_CFG = """
_base_ = ['{repo}/configs/deit/deit-tiny-convstem_300e_in1k.py']
model = dict(
    backbone=dict(arch=dict(_delete_=True, embed_dims=32, num_layers=2, num_heads=2,
                            feedforward_channels=128)),
    head=dict(num_classes=10, in_channels=32),
    data_preprocessor=dict(num_classes=10, mean=[77.8] * 3, std=[81.2] * 3,
                           to_rgb=False))
test_dataloader = dict(
    _delete_=True, batch_size=4, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='mmpretrain.DigitsDataset', split='test', img_size=224, indices=8,
                 pipeline=[dict(type='mmpretrain.PackInputs')]))
test_evaluator = [dict(type='mmpretrain.Accuracy', topk=(1, )),
                  dict(type='DumpResults', out_file_path='{dump}')]
"""
_SMALL_VIDT = """dict(
    num_queries=10,
    backbone=dict(arch=dict(_delete_=True, embed_dims=8, depths=[2, 2, 2, 2],
                            num_heads=[1, 2, 4, 8]),
                  det_pos_dims=64, extra_out_channels=64),
    neck=dict(out_channels=64),
    decoder=dict(num_layers=2, layer_cfg=dict(
        self_attn_cfg=dict(embed_dims=64), cross_attn_cfg=dict(embed_dims=64),
        ffn_cfg=dict(embed_dims=64, feedforward_channels=128))),
    bbox_head=dict(num_classes=10, embed_dims=64))"""
VIDT_CFG = """
_base_ = ['{repo}/configs/vidt/vidt_swin-nano_12e_digits.py']
model = %s
test_dataloader = dict(dataset=dict(data_root='{root}'))
test_evaluator = [dict(type='CocoMetric', ann_file='{root}annotations/instances_val.json',
                       metric='bbox'),
                  dict(type='DumpResults', out_file_path='{dump}')]
""" % _SMALL_VIDT
VKD_CFG = """
_base_ = ['{repo}/configs/vkd/vkd_vidt-swin-nano_vidt-swin-tiny_12e_digits.py']
_small = %s
model = dict(teacher_ckpt=None, architecture=_small, teacher=_small)
""" % _SMALL_VIDT


def _read_vidt():
    """vidt/main.py pickles its ``argparse.Namespace`` as 'args': allowed for this
    read only (the ViDT loaders do the same)."""
    return read_checkpoint(VIDT, extra_safe_globals=REFERENCE_TRAINING_GLOBALS)


def _write(path, text, **kw):
    path.write_text(text.format(repo=REPO, **kw))
    return str(path)


def _fp32(state):
    return {k: v.float() if v.is_floating_point() else v for k, v in state.items()}


def _checksum(t):
    return hashlib.sha256(t.detach().float().contiguous().numpy().tobytes()).hexdigest()


def _tools_test(run_tool, converted):
    """tools/test.py on a converted checkpoint and its config: (tmp dir, metrics)."""
    tmp = converted['tmp']
    run_tool('tools/test.py', converted['cfg'], converted['dst'], '--work-dir',
             tmp / 'work', '--out', tmp / 'metrics.json')
    return tmp, json.loads((tmp / 'metrics.json').read_text())


@pytest.fixture(scope='module')
def deit_ref():
    return torch.load(osp.join(DATA, 'deit_outputs.pt'), weights_only=True)


@pytest.fixture(scope='module')
def vidt_ref():
    return torch.load(osp.join(DATA, 'vidt_outputs.pt'), weights_only=False)


def test_data_is_small():
    total = sum(
        osp.getsize(osp.join(DATA, f))
        for f in ('deit_vkd_reference.pt', 'deit_outputs.pt', 'vidt_vkd_reference.pt',
                  'vidt_outputs.pt'))
    assert total < 3 * 2**20, total


# -- DeiT --------------------------------------------------------------------------------
@pytest.fixture(scope='module')
def deit_converted(tmp_path_factory, load_tool):
    """The published-layout DeiT file through the converter (in-process)."""
    tmp = tmp_path_factory.mktemp('deit')
    cfg = _write(tmp / 'deit_digits.py', DEIT_CFG, dump=tmp / 'dump.pkl')
    dst = tmp / 'student.pth'
    tool = load_tool('tools/model_converters/vkd_deit_to_mmkd.py')
    state, lines = tool.convert(DEIT, str(dst), cfg)
    return dict(cfg=cfg, dst=str(dst), state=state, lines=lines, tmp=tmp, tool=tool)


def _deit_model(cfg, state):
    from mmpretrain.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(Config.fromfile(cfg).model)
    model.load_state_dict(state, strict=True)
    return model.eval()


def test_deit_file_has_the_published_layout():
    ckpt = torch.load(DEIT, weights_only=True)
    assert set(ckpt) >= {'student', 'student_ema', 'epoch'}
    names = list(ckpt['student'])
    assert all(n.startswith('module.') for n in names)  # DDP
    assert {
        'module.conv_embed.proj.weight', 'module.head_dist.weight',
        'module.projector.parametrizations.weight.original',
        'module.projector.parametrizations.weight.0.base'
    } <= set(names)


def test_deit_matches_the_reference(deit_converted, deit_ref):
    model = _deit_model(deit_converted['cfg'], deit_converted['state'])
    x = deit_ref['x'].float()
    with torch.no_grad():
        logits = model(x, mode='tensor')
        cls_score, dist_score = model.head.forward_both(model.extract_feat(x))
    torch.testing.assert_close(logits, deit_ref['logits'], atol=TOL, rtol=0)
    torch.testing.assert_close(cls_score, deit_ref['cls_logits'], atol=TOL, rtol=0)
    torch.testing.assert_close(dist_score, deit_ref['dist_logits'], atol=TOL, rtol=0)
    # test time: the mean of both heads, as the reference's forward
    torch.testing.assert_close(logits, (cls_score + dist_score) / 2)


def test_deit_projector_is_dropped_and_explained(deit_converted, deit_ref):
    """The projector is training-only; as stored it is the zero map: the reference
    itself computes zeros with it (weight decay truncated its Householder signs)."""
    assert not any('projector' in k for k in deit_converted['state'])
    log = '\n'.join(deit_converted['lines'])
    assert 'dropped: 2 projector entries dropped (32 -> 48' in log
    assert "'householder'" in log and '32 of its 32 sign entries truncate to 0' in log
    assert torch.count_nonzero(deit_ref['projected']) == 0
    meta = torch.load(deit_converted['dst'], weights_only=True)['meta']
    assert meta['dropped'] == [
        'projector.parametrizations.weight.0.base',
        'projector.parametrizations.weight.original'
    ]


def test_deit_evaluates_with_tools_test(deit_converted, deit_ref, run_tool):
    """tools/test.py on 8 digits test images (224 px): the class scores are the
    softmax of the reference's logits (mean of both heads), the accuracy its own."""
    from mmkd_ext.datasets.digits import digits_split_indices, load_digits_arrays
    imgs, labels = load_digits_arrays(224)
    idx = digits_split_indices('test')[:8]
    x = (torch.from_numpy(imgs[idx]).permute(0, 3, 1, 2).float() - 77.8) / 81.2
    assert _checksum(x) == deit_ref['digits_checksum'], (
        'the digits inputs changed since the reference outputs were made: regenerate '
        'them (tools/model_converters/make_vkd_reference_files.py)')
    tmp, metrics = _tools_test(run_tool, deit_converted)
    with open(tmp / 'dump.pkl', 'rb') as f:
        dumped = pickle.load(f)
    scores = torch.stack([d['pred_score'] for d in dumped])
    expected = deit_ref['digits_logits'].softmax(-1)
    torch.testing.assert_close(scores, expected, atol=TOL, rtol=0)
    acc = (deit_ref['digits_logits'].argmax(-1) == deit_ref['digits_labels']).float()
    assert metrics['accuracy/top1'] == pytest.approx(100 * acc.mean().item())


def test_deit_unknown_and_missing_entries_name_the_file(tmp_path, deit_converted, raises):
    ckpt = torch.load(DEIT, weights_only=True)
    bad = dict(
        ckpt, student=dict(ckpt['student'], **{'module.extra.weight': torch.ones(1)}))
    torch.save(bad, tmp_path / 'extra.pth')
    raises(
        CheckpointError, lambda: deit_converted['tool'].convert(
            str(tmp_path / 'extra.pth'), str(tmp_path / 'o.pth'), deit_converted['cfg']),
        'extra.pth', 'extra.weight', 'unknown')
    student = dict(ckpt['student'])
    del student['module.norm.weight']
    torch.save(dict(ckpt, student=student), tmp_path / 'missing.pth')
    raises(
        CheckpointError, lambda: deit_converted['tool'].convert(
            str(tmp_path / 'missing.pth'), str(tmp_path / 'o.pth'), deit_converted['cfg']
        ), 'missing.pth', 'backbone.ln1.weight', 'missing')
    raises(CheckpointError, lambda: unwrap_vkd_deit({'student': None}, 'src', 'f.pth'),
           'f.pth', 'student')
    # the width picks no shipped config (32): asks for --config
    raises(CheckpointError,
           lambda: deit_converted['tool'].convert(DEIT, str(tmp_path / 'o.pth')),
           'deit_vkd_reference.pt', '--config')


def test_deit_layouts_accepted():
    """{'student'}, {'model': {'student'}}, {'model': sd}, flat; with or without DDP."""
    sd = {'module.norm.weight': torch.ones(2)}
    plain = {'norm.weight': torch.ones(2)}
    for ckpt in ({'student': sd}, {'model': {'student': sd}}, {'model': plain}, plain):
        assert list(unwrap_vkd_deit(ckpt)) == ['norm.weight']
    assert list(unwrap_vkd_deit({'student': plain, 'student_ema': sd}, use_ema=True))
    ours, dropped = convert_vkd_deit({'norm.weight': torch.ones(2)})
    assert list(ours) == ['backbone.ln1.weight'] and not dropped
    assert projector_note({}) == '0 projector entries dropped'


# -- ViDT --------------------------------------------------------------------------------
@pytest.fixture(scope='module')
def vidt_converted(tmp_path_factory, load_tool, digits_coco_root):
    tmp = tmp_path_factory.mktemp('vidt')
    cfg = _write(
        tmp / 'vidt_digits.py', VIDT_CFG, root=digits_coco_root, dump=tmp / 'dump.pkl')
    vkd_cfg = _write(tmp / 'vkd_digits.py', VKD_CFG)
    main = load_tool('tools/model_converters/vidt_to_mmkd.py').main
    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    records = []
    handler = _ListHandler(records)
    logger.addHandler(handler)
    try:
        main([
            VIDT,
            str(tmp / 'vidt.pth'), '--num-classes', '10', '--config', cfg, '--projectors',
            str(tmp / 'vkd_state.pth'), '--projectors-config', vkd_cfg
        ])
    finally:
        logger.removeHandler(handler)
    return dict(
        cfg=cfg,
        vkd_cfg=vkd_cfg,
        dst=str(tmp / 'vidt.pth'),
        state=str(tmp / 'vkd_state.pth'),
        log='\n'.join(records),
        tmp=tmp,
        main=main)


class _ListHandler(__import__('logging').Handler):

    def __init__(self, records):
        super().__init__()
        self.records = records

    def emit(self, record):
        self.records.append(record.getMessage())


def _vidt_model(cfg, path):
    from mmdet.registry import MODELS
    c = Config.fromfile(cfg)
    c.model.init_cfg = dict(type='Pretrained', checkpoint=path)
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(c.model)
    model.init_weights()
    return model.eval()


def test_vidt_file_has_the_published_layout():
    ckpt = _read_vidt()
    assert set(ckpt) == {'model', 'lr_scheduler', 'epoch', 'args'}
    assert ckpt['args'].backbone_name == 'swin_nano' and ckpt['args'].with_box_refine
    with pytest.raises(UnsafeCheckpointError, match='Namespace'):
        read_checkpoint(VIDT)  # allowed only where a reference file is expected
    state = ckpt['model']
    _, projectors = split_vkd_projectors(state)
    assert sorted(projectors) == sorted(VKD_PROJECTOR_PAIRS)
    for entries in projectors.values():
        assert sorted(entries) == [
            'bias', 'projector.parametrizations.weight.0.base',
            'projector.parametrizations.weight.original', 'weight'
        ]


def test_vidt_matches_the_reference(vidt_converted, vidt_ref):
    model = _vidt_model(vidt_converted['cfg'], vidt_converted['dst'])
    images = vidt_ref['images'].float().masked_fill(vidt_ref['masks'][:, None], 0)
    pad = tuple(images.shape[-2:])
    sizes = [(64, 96), (48, 64)]
    samples = [
        DetDataSample(
            metainfo=dict(
                img_shape=hw,
                ori_shape=hw,
                batch_input_shape=pad,
                pad_shape=pad,
                scale_factor=(1., 1.))) for hw in sizes
    ]
    assert torch.equal(padding_mask_from_samples(images, samples), vidt_ref['masks'])
    with torch.no_grad():
        logits, boxes = model(images, samples, mode='tensor')
    assert logits.shape == vidt_ref['pred_logits'].shape  # 3 prediction layers
    torch.testing.assert_close(logits, vidt_ref['pred_logits'], atol=TOL, rtol=0)
    torch.testing.assert_close(boxes, vidt_ref['pred_boxes'], atol=TOL, rtol=0)


def test_vidt_projectors_are_dropped_with_a_reason(vidt_converted):
    state = torch.load(vidt_converted['dst'], weights_only=True)['state_dict']
    assert not any('projector' in k for k in state)
    log = vidt_converted['log']
    assert 'dropped 24 entries of 6 VKD projectors' in log
    assert 'act on the distillation tokens only' in log


def test_vidt_projectors_map_onto_the_vkd_connectors(vidt_converted, vidt_ref,
                                                     razor_build):
    """``--projectors OUT`` loads (load_from) into the VKD config: student and the six
    connectors; each connector's projection (orthogonal + scale + bias) equals the
    reference OrthogonalLinear to 1e-4; the file's map is PyTorch's default."""
    cfg = Config.fromfile(vidt_converted['vkd_cfg'])
    model = razor_build(cfg.model)
    state = torch.load(vidt_converted['state'], weights_only=True)['state_dict']
    own = model.state_dict()
    assert set(state) <= set(own)
    assert not [
        k for k in own
        if k not in state and not k.startswith('teacher.') and 'connectors' not in k
        and not k.endswith('relative_position_index')  # constants, not in the files
    ]
    model.load_state_dict(state, strict=False)
    from mmkd_ext.models.connectors.orthogonal_connector import OrthogonalConnector
    x = vidt_ref['projector_inputs'].float()
    for name, pair in VKD_PROJECTOR_PAIRS.items():
        conn = [
            m for m in model.distiller.connectors[f'{pair}_s_conn'].modules()
            if isinstance(m, OrthogonalConnector)
        ][0]
        with torch.no_grad():
            y = conn(x)
        torch.testing.assert_close(
            y,
            vidt_ref['projector_outputs'][name],
            atol=TOL,
            rtol=0,
            msg=lambda m: f'{name} -> {pair}: {m}')
    log = vidt_converted['log']
    assert log.count('file map matrix_exp') == 6, log


def test_vidt_another_map_gives_other_projections(vidt_converted, vidt_ref, tmp_path):
    """The map is not in the entries: read with Cayley, the same entries give another
    P (so the default, matrix_exp, is what the reference computed)."""
    from mmkd_ext.models.detectors.vidt_vkd_weights import reference_orthogonal_weight
    state = _read_vidt()['model']
    entries = split_vkd_projectors(state)[1]['patch_projector_1']
    src = dict(
        original=entries['projector.parametrizations.weight.original'],
        base=entries['projector.parametrizations.weight.0.base'])
    x = vidt_ref['projector_inputs'].float()
    ref = vidt_ref['projector_outputs']['patch_projector_1']
    for m, close in (('matrix_exp', True), ('cayley', False)):
        P, used = reference_orthogonal_weight(src, m)
        y = (x @ P.mT) * entries['weight'].float() + entries['bias'].float()
        assert used == m and torch.allclose(y, ref, atol=TOL) is close, m


def test_vidt_evaluates_with_tools_test(vidt_converted, vidt_ref, run_tool,
                                        digits_coco_root):
    """tools/test.py on the 2 validation images of the digits set: the detections
    are the reference PostProcess' top 30 (scores, labels, boxes)."""
    import cv2
    files = vidt_ref['digits']['files']
    imgs = [
        cv2.imread(osp.join(digits_coco_root, 'val', f))[..., ::-1].copy() for f in files
    ]
    x = torch.stack([torch.from_numpy(i).permute(2, 0, 1).float() for i in imgs])
    mean = torch.tensor([123.675, 116.28, 103.53])[:, None, None]
    std = torch.tensor([58.395, 57.12, 57.375])[:, None, None]
    assert _checksum((x - mean) / std) == vidt_ref['digits']['checksum'], (
        'the digits COCO images changed since the reference outputs were made: '
        'regenerate them (tools/model_converters/make_vkd_reference_files.py)')
    tmp, metrics = _tools_test(run_tool, vidt_converted)
    assert 'coco/bbox_mAP' in metrics
    with open(tmp / 'dump.pkl', 'rb') as f:
        dumped = {
            osp.basename(d['img_path']): d['pred_instances']
            for d in pickle.load(f)
        }
    for name, ref in zip(files, vidt_ref['digits']['detections']):
        got = dumped[name]
        k = len(got['scores'])
        assert k == 30
        torch.testing.assert_close(got['scores'], ref['scores'][:k], atol=TOL, rtol=0)
        assert torch.equal(got['labels'], ref['labels'][:k])
        boxes = ref['boxes'][:k].clamp(0, 64)  # MMDet clips to the image
        torch.testing.assert_close(got['bboxes'], boxes, atol=64 * TOL, rtol=0)


def test_vidt_unknown_and_missing_entries_name_the_file(vidt_converted, tmp_path, raises):
    main = vidt_converted['main']
    state = _read_vidt()['model']
    torch.save(
        dict(model=dict(state, **{'patch_projector_1.extra': torch.ones(1)})),
        tmp_path / 'extra.pth')
    raises(
        CheckpointError, lambda: main(
            [str(tmp_path / 'extra.pth'),
             str(tmp_path / 'o.pth'), '--num-classes', '10']), 'extra.pth',
        'patch_projector_1.extra')
    # a projector entry missing: --projectors names it
    broken = dict(state)
    del broken['neck_det_projector.bias']
    torch.save(dict(model=broken), tmp_path / 'noproj.pth')
    raises(
        CheckpointError, lambda: main([
            str(tmp_path / 'noproj.pth'),
            str(tmp_path / 'o.pth'), '--num-classes', '10', '--projectors',
            str(tmp_path / 'p.pth'), '--projectors-config', vidt_converted['vkd_cfg']
        ]), 'noproj.pth', 'neck_det_projector', 'bias')
    # a detector entry missing: the strict load names the file and the key
    detector = dict(state)
    del detector['transformer.reference_points.weight']
    torch.save(dict(model=detector), tmp_path / 'nodet.pth')
    main([
        str(tmp_path / 'nodet.pth'),
        str(tmp_path / 'nodet_ours.pth'), '--num-classes', '10'
    ])
    raises(CheckpointError,
           lambda: _vidt_model(vidt_converted['cfg'], str(tmp_path / 'nodet_ours.pth')),
           'nodet_ours.pth', 'reference_points_fc.weight')
    # --config: the conversion itself refuses a file that does not fit the config
    raises(
        CheckpointError, lambda: main([
            str(tmp_path / 'nodet.pth'),
            str(tmp_path / 'o.pth'), '--num-classes', '10', '--config', vidt_converted[
                'cfg']
        ]), 'nodet.pth', 'reference_points_fc.weight', 'vidt_digits.py')
    assert 'fits' in vidt_converted['log'] and 'vidt_digits.py (strict)' in \
        vidt_converted['log']


def test_custom_swin_arch_is_checked(raises):
    """The small reference networks use ``arch=dict(...)``; a wrong dict is named."""
    from mmkd_ext.models.backbones import ViDTSwinTransformer
    arch = dict(embed_dims=8, depths=(2, 2, 2, 2), num_heads=(1, 2, 4, 8))
    net = ViDTSwinTransformer(arch=arch, num_det_tokens=4, det_pos_dims=32)
    assert net.num_features == [8, 16, 32, 64]
    raises(KeyError, lambda: ViDTSwinTransformer(arch=dict(embed_dims=8)),
           'model.backbone.arch', 'depths', 'num_heads')
    raises(ValueError, lambda: ViDTSwinTransformer(arch=dict(arch, num_heads=(1, 2))),
           'model.backbone.arch', 'one entry per stage')
    raises(KeyError, lambda: ViDTSwinTransformer(arch='huge'), 'huge', 'nano')
