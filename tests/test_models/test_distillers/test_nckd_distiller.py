"""NCKDDistiller: owns one prototype bank, hands it to the NC losses and the NC3 head,
updates it once per step, keeps it in the checkpoint; the converted student's head
evaluates alone from its prototype buffer; clear errors for misplaced banks."""
import copy
import functools
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

import mmkd_ext  # noqa: F401
from mmkd_ext.models.distillers import NCKDDistiller

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
CFG = osp.join(ROOT, 'configs/nckd/nckd_resnet18-w8_resnet18-w32_20e_digits.py')


def build(model_cfg=None, **distiller):
    from mmrazor.registry import MODELS
    cfg = Config.fromfile(CFG).model if model_cfg is None else model_cfg
    cfg = copy.deepcopy(cfg)
    cfg.teacher_ckpt = None
    cfg.distiller.update(distiller)
    with DefaultScope.overwrite_default_scope('mmrazor'):
        return MODELS.build(cfg)


@pytest.fixture(scope='module')
def algorithm():
    torch.manual_seed(0)
    return build()


def test_one_bank_handed_to_losses_and_head(algorithm):
    d = algorithm.distiller
    assert isinstance(d, NCKDDistiller)
    bank = d.bank
    assert d.distill_losses['loss_nc1'].bank is bank
    assert algorithm.architecture.head.fc.bank is bank
    sd = algorithm.state_dict()
    bank_keys = sorted(k for k in sd if 'bank' in k)
    assert bank_keys == ['distiller.bank.counts', 'distiller.bank.means']
    assert 'architecture.head.fc.prototypes' in sd


def test_step_updates_bank_once_and_logs_coverage(algorithm, digits_batch):
    algorithm.train()
    d = algorithm.distiller
    before = float(d.bank.counts.sum())
    data = algorithm.data_preprocessor(digits_batch(), True)
    losses = algorithm(**data, mode='loss')
    assert float(d.bank.counts.sum()) == before + 16
    cov = losses['distill.bank_coverage']
    assert not cov.requires_grad
    assert cov.item() == pytest.approx((d.bank.counts > 0).float().mean().item())
    assert {'distill.loss_nc1', 'distill.loss_nc2'} <= set(losses)
    # the head's buffer is written from the bank when saved
    sd = algorithm.state_dict()
    torch.testing.assert_close(sd['architecture.head.fc.prototypes'], d.bank.prototypes)


def test_checkpoint_round_trip_restores_the_bank(algorithm):
    sd = copy.deepcopy(algorithm.state_dict())
    other = build()
    assert other.distiller.bank.counts.sum() == 0
    other.load_state_dict(sd)
    torch.testing.assert_close(other.distiller.bank.means, algorithm.distiller.bank.means)
    torch.testing.assert_close(other.architecture.head.fc.weight,
                               algorithm.architecture.head.fc.weight)


def test_converted_student_head_evaluates_alone(algorithm):
    """The student config alone (plain MMPretrain) + the architecture.* weights."""
    from mmpretrain.registry import MODELS as CLS_MODELS

    from mmkd_ext.models.distillers import student_cfg_with_widths
    model_cfg = Config.fromfile(CFG).model
    # the shipped head leaves its widths out: alone, the student cannot infer them
    with pytest.raises(RuntimeError, match='never inferred.*student_cfg_with_widths'):
        CLS_MODELS.build(copy.deepcopy(model_cfg.architecture)).eval()(
            torch.randn(2, 3, 32, 32), mode='tensor')
    student_cfg = student_cfg_with_widths(model_cfg)
    assert student_cfg.head.in_channels == 64
    assert (student_cfg.head.projector.in_channels,
            student_cfg.head.projector.out_channels) == (64, 256)
    fresh = CLS_MODELS.build(student_cfg)
    x = torch.randn(2, 3, 32, 32)
    with pytest.raises(RuntimeError, match='neither a PrototypeBank nor loaded'):
        fresh.eval()(x, mode='tensor')
    state = {
        k[len('architecture.'):]: v
        for k, v in algorithm.state_dict().items() if k.startswith('architecture.')
    }
    fresh.load_state_dict(state, strict=True)
    assert fresh.head.fc.bank is None
    algorithm.eval(), fresh.eval()
    with torch.no_grad():
        torch.testing.assert_close(
            fresh(x, mode='tensor'), algorithm.architecture(x, mode='tensor'))


def test_errors_name_the_config_keys():
    cfg = Config.fromfile(CFG).model
    bad = copy.deepcopy(cfg)
    bad.distiller.distill_losses.loss_nc1.bank = dict(num_classes=10, feat_dim=256)
    with pytest.raises(ValueError, match=r'distill_losses\.loss_nc1\.bank'):
        build(bad)
    with pytest.raises(ValueError, match='bank_forward_mappings'):
        build(bank_forward_mappings=None)
    the_teachers = r'teacher recorder "feat" \(model\.teacher\.neck.*256'  # its neck
    for part, edit, match in [
        ('bank_forward_mappings.preds_T', dict(recorder='nope'),
         r'bank_forward_mappings\.preds_T\.recorder "nope" is not in '
         r'model\.distiller\.teacher_recorders'),
        ('bank', dict(feat_dim=128),
         r'model\.distiller\.bank\.feat_dim: 128 given, but ' + the_teachers),
    ]:
        bad = copy.deepcopy(cfg)
        functools.reduce(getattr, part.split('.'), bad.distiller).update(edit)
        with pytest.raises(ValueError, match=match):
            build(bad)
    bad = copy.deepcopy(cfg)
    bad.distiller.pop('bank')
    bad.distiller.pop('bank_forward_mappings')
    bad.distiller.distill_losses.pop('loss_nc1')
    bad.distiller.loss_forward_mappings.pop('loss_nc1')
    with pytest.raises(
            ValueError, match=r"class_weights='prototypes'.*set "
            r'model\.distiller\.bank'):
        build(bad)


def test_recorder_source_named():
    from mmkd_ext.models.distillers import RecorderSourceError
    bad = copy.deepcopy(Config.fromfile(CFG).model)
    bad.distiller.teacher_recorders.feat.source = 'neckk'
    with pytest.raises(
            RecorderSourceError,
            match=r'distiller\.teacher_recorders\.feat\.source: "neckk"'):
        build(bad)
