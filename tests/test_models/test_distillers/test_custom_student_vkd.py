"""Bring your own student, classification VKD: the worked examples of
docs/custom_student.md (a shipped digits VKD config with only the student's architecture
changed; no width written) build, infer every width and train 2 iterations through
MMEngine's Runner; a wrong explicit width fails while the model is built, naming the
config key and both widths."""

import pytest
import torch

import mmkd_ext  # noqa: F401
from mmkd_ext.models.connectors import OrthogonalConnector
from mmkd_ext.models.distillers import WidthError


def projector(algorithm, name):
    conns = [
        m for m in algorithm.distiller.connectors[name].modules()
        if isinstance(m, OrthogonalConnector)
    ]
    assert len(conns) == 1
    return conns[0]


STANDARD = 'vkd_mobilenetv2-0.5x_resnet18-w32_20e_digits.py'
COMPACT = 'vkd_shufflenetv2-0.5x_resnet18-w32_20e_digits_vkd-distiller.py'


def test_standard_distiller_mobilenetv2_student_trains(cs, tmp_path, teacher_ckpt):
    cfg = cs.doc_config(STANDARD, tmp_path)
    assert 'in_channels' not in cfg.model.distiller.connectors.vkd_s
    runner = cs.build_runner(cfg, tmp_path, teacher_ckpt)
    algorithm = runner.model
    proj = projector(algorithm, 'vkd_s')
    assert (proj.in_channels, proj.out_channels) == (1280, 256)
    assert algorithm.distiller.inferred_widths == {
        'model.distiller.connectors.vkd_s.in_channels': 1280,
        'model.distiller.connectors.vkd_s.out_channels': 256
    }
    # built before the optimizer: the projector is trained
    before = proj.raw_weight.detach().clone()
    cs.train_two_iterations(runner, 'distill.loss_vkd')
    assert not torch.equal(before, proj.raw_weight.detach())


@pytest.mark.parametrize('key,value,message', [
    ('in_channels', 64, r'model\.distiller\.connectors\.vkd_s\.in_channels: 64 given, '
     r'but student recorder "feat" \(model\.architecture\.neck, data_idx 0\) gives 1280 '
     r'channels'),
    ('out_channels', 128, r'model\.distiller\.distill_losses\.loss_vkd \(VKDLoss\) gets '
     r'tensors of different shapes: preds_S \(2, 128\) .*vkd_s\.out_channels=128.*'
     r'preds_T \(2, 256\) = teacher recorder "feat" \(model\.teacher\.neck'),
])
def test_standard_distiller_wrong_width_fails_at_build(cs, tmp_path, teacher_ckpt, key,
                                                       value, message):
    cfg = cs.doc_config(STANDARD, tmp_path)
    with pytest.raises(WidthError, match=message):
        cs.build_model(cfg, teacher_ckpt,
                       **{f'model.distiller.connectors.vkd_s.{key}': value})


def test_vkd_distiller_shufflenetv2_student_trains(cs, tmp_path, teacher_ckpt):
    runner = cs.build_runner(cs.doc_config(COMPACT, tmp_path), tmp_path, teacher_ckpt)
    proj = projector(runner.model, 'vkd0_s_conn')
    assert (proj.in_channels, proj.out_channels) == (1024, 256)
    assert runner.model.distiller.inferred_widths[
        'model.distiller.feature_pairs[0].student_channels'] == 1024
    cs.train_two_iterations(runner, 'distill.loss_vkd0')


def test_vkd_distiller_wrong_width_fails_at_build(cs, tmp_path, teacher_ckpt):
    cfg = cs.doc_config(COMPACT, tmp_path)
    cfg.model.distiller.feature_pairs[0]['student_channels'] = 64
    with pytest.raises(
            ValueError,
            match=r'`feature_pairs\[0\]\.student_channels`=64 but '
            r'"neck" \(model\.architecture\.neck\) gives 1024 channels'):
        cs.build_model(cfg, teacher_ckpt)


def test_dry_run_shape_and_its_errors(cs, tmp_path, teacher_ckpt):
    """An explicit dry-run input is used; one the student refuses is an error naming
    model.distiller.dry_run_shape; without a dry run omitted widths are an error."""
    cfg = cs.doc_config(STANDARD, tmp_path)
    with pytest.raises(
            WidthError,
            match=r'dry run of the teacher \(model\.teacher\) '
            r'fails on an input of shape \(2, 1, 16, 16\).*dry_run_shape'):
        cs.build_model(cfg, teacher_ckpt,
                       **{'model.distiller.dry_run_shape': (2, 1, 16, 16)})
    with pytest.raises(
            WidthError,
            match=r'dry_run_shape is False.*'
            r'model\.distiller\.connectors\.vkd_s'):
        cs.build_model(
            cs.doc_config(STANDARD, tmp_path), teacher_ckpt,
            **{'model.distiller.dry_run_shape': False})
