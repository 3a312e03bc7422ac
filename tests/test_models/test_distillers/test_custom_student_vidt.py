"""Bring your own student (issue 13): a config that inherits a shipped detection
distillation config and changes only the student's architecture builds, with every
width inferred, and trains 2 iterations through MMEngine's Runner on the digits COCO
set; inconsistent explicit widths and [DET] token counts fail at build time with the
config keys in the message (docs/custom_student.md, '## Detection (ViDT)')."""
import math
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmrazor.registry import MODELS as RAZOR_MODELS

from mmkd_ext.models.connectors import OrthogonalConnector
from mmkd_ext.models.distillers import VKDDistiller

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
VKD = osp.join(REPO, 'configs/vkd/vkd_vidt-swin-nano_vidt-swin-tiny_12e_digits.py')
TM = osp.join(
    REPO, 'configs/token_matching/'
    'token-matching_vidt-swin-nano_vidt-swin-tiny_12e_digits.py')
PLAIN = osp.join(REPO, 'configs/vidt/vidt_swin-nano_12e_digits.py')
# the student of docs/custom_student.md: ViDT Swin-tiny instead of Swin-nano
TINY_STUDENT = "model = dict(architecture=dict(backbone=dict(arch='tiny')))\n"


def user_config(tmp_path, base, body, name='my_config.py'):
    """A config file as a user writes it: one ``_base_`` line + ``body``."""
    path = tmp_path / name
    path.write_text(f'_base_ = [{base!r}]\n{body}')
    return Config.fromfile(str(path))


def build(cfg):
    cfg.model.teacher_ckpt = None  # a random teacher (no trained checkpoint here)
    with DefaultScope.overwrite_default_scope('mmrazor'):
        return RAZOR_MODELS.build(cfg.model)


def neck_widths(detector):
    return [c.conv.in_channels for c in detector.neck.convs]


def projector_widths(distiller):
    """(in, out) of every orthogonal projector the distiller built."""
    return [(m.in_channels, m.out_channels) for m in distiller.connectors.modules()
            if isinstance(m, OrthogonalConnector)]


@pytest.mark.parametrize(
    'base,losses', [
        (VKD, ['loss_vkd_p0', 'loss_vkd_p3', 'loss_vkd_det', 'loss_vkd_dec']),
        (TM, ['loss_tm']),
    ],
    ids=['vkd', 'token_matching'])
def test_swin_tiny_student_trains_two_iterations(tmp_path, base, losses, train_digits,
                                                 scalars):
    cfg = user_config(tmp_path, base, TINY_STUDENT)
    cfg.model.teacher_ckpt = None
    runner = train_digits(cfg, tmp_path / 'work')
    model = runner.model
    assert runner.iter == 2
    # widths inferred from the models, nothing edited by hand
    assert model.student.backbone.arch == 'tiny'
    assert neck_widths(model.student) == [192, 384, 768, 256]
    assert neck_widths(model.teacher) == [192, 384, 768, 256]
    if isinstance(model.distiller, VKDDistiller):  # the six projectors: 256 -> 256
        assert projector_widths(model.distiller) == [(256, 256)] * 6
    records = scalars(tmp_path / 'work')
    train = [r for r in records if 'loss' in r]
    assert len(train) == 2
    for key in [f'distill.{k}' for k in losses] + ['student.loss_cls']:
        assert all(math.isfinite(r[key]) for r in train), key
    assert any('coco/bbox_mAP' in r for r in records)  # the evaluation ran


@pytest.mark.parametrize('base,key', [
    (PLAIN, 'model.neck.in_channels'),
    (VKD, 'model.architecture.neck.in_channels'),
])
def test_inconsistent_explicit_width_fails_at_build(tmp_path, base, key):
    """Swin-tiny backbone (widths 192/384/768/256) with the nano widths set by hand."""
    part = 'model' if base == PLAIN else 'model.architecture'
    wrong = "neck=dict(in_channels=[96, 192, 384, 256])"
    body = (f"model = dict(backbone=dict(arch='tiny'), {wrong})\n" if base == PLAIN else
            f"model = dict(architecture=dict(backbone=dict(arch='tiny'), {wrong}))\n")
    cfg = user_config(tmp_path, base, body)
    with pytest.raises(ValueError) as err:
        if base == PLAIN:
            from mmdet.registry import MODELS
            with DefaultScope.overwrite_default_scope('mmdet'):
                MODELS.build(cfg.model)
        else:
            build(cfg)
    msg = str(err.value)
    assert msg.startswith(f'{key}: [96, 192, 384, 256]'), msg
    assert '[192, 384, 768, 256]' in msg and f"{part}.backbone.arch='tiny'" in msg


def test_inconsistent_teacher_width_names_the_teacher_key(tmp_path):
    cfg = user_config(
        tmp_path, TM, 'model = dict(teacher=dict(neck=dict(in_channels=[1, 2, 3, 4])))\n')
    with pytest.raises(
            ValueError,
            match=r'^model\.teacher\.neck\.in_channels: '
            r'\[1, 2, 3, 4\] .* \[192, 384, 768, 256\]'):
        build(cfg)


@pytest.mark.parametrize(
    'base,loss', [
        (VKD, 'loss_vkd_det (from model.distiller.feature_pairs[4])'),
        (TM, 'loss_tm'),
    ],
    ids=['vkd', 'token_matching'])
def test_det_token_mismatch_fails_at_build(tmp_path, base, loss):
    cfg = user_config(tmp_path, base, 'model = dict(architecture=dict(num_queries=20))\n')
    with pytest.raises(ValueError) as err:
        build(cfg)
    assert str(err.value) == (
        f'model.distiller.distill_losses.{loss}: student [DET] tokens 20 != teacher '
        '[DET] tokens 30 (model.architecture.num_queries vs model.teacher.num_queries)')


def test_decoder_depth_mismatch_fails_at_build(tmp_path):
    cfg = user_config(tmp_path, TM,
                      'model = dict(architecture=dict(decoder=dict(num_layers=2)))\n')
    with pytest.raises(
            ValueError,
            match=r'loss_tm: student decoder layers 2 != teacher '
            r'decoder layers 3 \(model\.architecture\.decoder\.num_layers vs '
            r'model\.teacher\.decoder\.num_layers\)'):
        build(cfg)


def test_same_token_count_on_both_sides_builds(tmp_path):
    """A ViDT with 20 [DET] tokens distilled from a teacher with 20 builds."""
    cfg = user_config(
        tmp_path, VKD, 'model = dict(architecture=dict(num_queries=20), '
        'teacher=dict(num_queries=20))\n')
    model = build(cfg)
    assert model.student.backbone.det_token.shape[1] == 20
    assert model.teacher.backbone.det_token.shape[1] == 20
