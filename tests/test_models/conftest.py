"""Fixtures of the model tests (the suite-wide ones are in ``tests/conftest.py``).

* ``build_vidt(num_classes=10, num_det=None, dec_layers=None, arch='nano',
  init_cfg=None, init=True)``: a ViDT from ``configs/vidt/vidt_swin-nano_50e_coco.py``;
* ``det_batch(shapes, pad_to=(64, 64))``: padded images + ``DetDataSample`` s;
* ``filled_bank(name=None, c=4, d=6, seed=0)``: an online ``PrototypeBank`` of ``c``
  classes in ``d`` dimensions, updated once with 3 seeded samples per class.
* ``vidt_loss_parity``: the ViDT training-loss parity set-up (reference losses of
  ``tests/data/loss_parity/vidt_nano_losses.pt``, fixture weight files of student and
  perturbed teacher, the batch, ``no_dropout``, the generator tool); skips without
  ``shared/fixtures/vidt_nano_reference``.
"""
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData

import mmkd_ext  # noqa: F401

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def build_nano(num_classes=10,
               num_det=None,
               dec_layers=None,
               arch='nano',
               init_cfg=None,
               init=True):
    """ViDT from the nano COCO config (optionally another Swin ``arch``, fewer [DET]
    tokens / decoder layers to keep CPU tests fast, an ``init_cfg``)."""
    cfg = Config.fromfile(osp.join(REPO, 'configs/vidt/vidt_swin-nano_50e_coco.py'))
    cfg.model.bbox_head.num_classes = num_classes
    cfg.model.backbone.arch = arch  # the neck's input widths follow (inferred)
    if init_cfg is not None:
        cfg.model.init_cfg = init_cfg
    if num_det is not None:
        cfg.model.num_queries = num_det  # the backbone's [DET] tokens follow
        cfg.model.test_cfg.max_per_img = num_det
    if dec_layers is not None:
        cfg.model.decoder.num_layers = dec_layers
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(cfg.model)
    if init:
        model.init_weights()
    return model


def make_batch(shapes, pad_to=(64, 64)):
    torch.manual_seed(0)
    inputs = torch.zeros(len(shapes), 3, *pad_to)
    samples = []
    for i, (h, w) in enumerate(shapes):
        inputs[i, :, :h, :w] = torch.randn(3, h, w)
        s = DetDataSample(
            metainfo=dict(
                img_shape=(h, w),
                ori_shape=(2 * h, 2 * w),
                batch_input_shape=pad_to,
                pad_shape=pad_to,
                scale_factor=(0.5, 0.5)))
        s.gt_instances = InstanceData(
            bboxes=torch.tensor([[4., 6., 30., 28.], [20., 10., w - 2., h - 4.]]),
            labels=torch.tensor([1, 7]))
        samples.append(s)
    return inputs, samples


@pytest.fixture(scope='session')
def build_vidt():
    return build_nano


@pytest.fixture(scope='session')
def det_batch():
    return make_batch


def _filled_bank(name=None, c=4, d=6, seed=0):
    from mmkd_ext.models.utils.prototype_bank import PrototypeBank
    g = torch.Generator().manual_seed(seed)
    bank = PrototypeBank(c, d, name=name)
    y = torch.arange(c).repeat(3)
    bank(torch.randn(3 * c, d, generator=g) + 3 * torch.randn(c, d, generator=g)[y], y)
    return bank


@pytest.fixture(scope='session')
def filled_bank():
    return _filled_bank


# -- ViDT training-loss parity (issue 18.3) -------------------------------------------
VIDT_FIXTURE = osp.normpath(
    osp.join(REPO, '..', 'shared', 'fixtures', 'vidt_nano_reference'))
LOSS_PARITY_TOOL = 'tools/analysis_tools/make_loss_parity_reference.py'


def no_dropout(model):
    """Dropout off, ``nn.MultiheadAttention.dropout`` (a float, live in train mode)
    and drop path included, as on the reference side of the parity files."""
    for m in model.modules():
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
        if isinstance(m, torch.nn.MultiheadAttention):
            m.dropout = 0.0
        if hasattr(m, 'drop_prob'):
            m.drop_prob = 0.0
    return model


@pytest.fixture(scope='session')
def vidt_loss_parity(tmp_path_factory, load_tool):
    """Reference side (``reference``), weight files in the reference layout
    (``weight_files['student']``: the fixture, ``['teacher']``: perturbed by the
    generator's ``perturb_teacher``), ``batch`` (the fixture's padded pair: image 0
    without boxes, image 1 with the reference's 4 boxes), ``no_dropout``, ``tool``."""
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData

    from mmkd_ext.models.utils.checkpoint import read_checkpoint, unwrap_state_dict
    weights = osp.join(VIDT_FIXTURE, 'vidt_nano_reference_weights_fp16.pth')
    outputs = osp.join(VIDT_FIXTURE, 'reference_outputs.pt')
    if not (osp.isfile(weights) and osp.isfile(outputs)):
        pytest.skip(f'ViDT reference fixture not found in {VIDT_FIXTURE} '
                    '(shared/fixtures/vidt_nano_reference beside the repository)')
    tool = load_tool(LOSS_PARITY_TOOL)
    reference = torch.load(
        osp.join(REPO, 'tests', 'data', 'loss_parity', 'vidt_nano_losses.pt'),
        map_location='cpu',
        weights_only=True)
    state = unwrap_state_dict(read_checkpoint(weights, 'fixture'), 'fixture', weights)
    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    teacher = tool.perturb_teacher(state)
    checksum = sum(v.double().sum() for v in teacher.values() if v.is_floating_point())
    assert float(checksum) == pytest.approx(reference['teacher_checksum'], rel=1e-12), \
        'the teacher perturbation differs from the one of the reference file'
    root = tmp_path_factory.mktemp('vidt_loss_parity')
    weight_files = dict(
        student=str(root / 'student.pth'), teacher=str(root / 'teacher.pth'))
    torch.save(dict(model=state), weight_files['student'])
    torch.save(dict(model=teacher), weight_files['teacher'])

    case = torch.load(outputs, map_location='cpu', weights_only=True)['padded_pair']
    pad = tuple(case['images'].shape[-2:])
    samples = []
    for hw, boxes, labels in zip(case['image_sizes'].tolist(), reference['gt_boxes'],
                                 reference['gt_labels']):
        s = DetDataSample(
            metainfo=dict(
                img_shape=tuple(hw),
                ori_shape=tuple(hw),
                batch_input_shape=pad,
                pad_shape=pad,
                scale_factor=(1., 1.)))
        s.gt_instances = InstanceData(
            bboxes=torch.tensor(boxes, dtype=torch.float32).view(-1, 4),
            labels=torch.tensor(labels, dtype=torch.int64))
        samples.append(s)
    assert [len(s.gt_instances) for s in samples] == [0, 4]
    return SimpleNamespace(
        reference=reference,
        weight_files=weight_files,
        batch=(case['images'], samples),
        no_dropout=no_dropout,
        tool=tool)
