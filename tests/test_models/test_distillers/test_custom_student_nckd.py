"""Bring your own student, NCKD: the worked example of docs/custom_student.md (the
full NCKD digits config with a tiny ViT as the student's backbone; no width written)
infers the NC3 head's widths, its projector and the bank's feat_dim, and trains 2
iterations through MMEngine's Runner; wrong explicit widths fail while the model is
built, naming the config key and both widths (and a pooling neck is asked for only when
the features are not pooled)."""
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

import mmkd_ext  # noqa: F401
from mmkd_ext.models.distillers import WidthError

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

EXAMPLE = 'nckd_vit-tiny_resnet18-w32_20e_digits.py'
SHIPPED = osp.join(REPO, 'configs/nckd/nckd_resnet18-w8_resnet18-w32_20e_digits.py')


def test_nckd_vit_student_trains(cs, tmp_path, teacher_ckpt):
    cfg = cs.doc_config(EXAMPLE, tmp_path)
    assert cfg.model.architecture.head.get('in_channels') is None
    runner = cs.build_runner(cfg, tmp_path, teacher_ckpt)
    algorithm = runner.model
    head, bank = algorithm.architecture.head, algorithm.distiller.bank
    assert head.in_channels == 64 and bank.feat_dim == 256
    assert (head.projector.in_channels, head.projector.out_channels) == (64, 256)
    assert head.fc.bank is bank
    assert algorithm.distiller.distill_losses.loss_nc1.bank is bank
    widths = algorithm.distiller.inferred_widths
    assert widths['model.distiller.bank.feat_dim'] == 256
    assert widths['model.architecture.head.in_channels'] == 64
    before = head.projector.raw_weight.detach().clone()
    cs.train_two_iterations(runner, 'distill.loss_nc1')
    assert math.isfinite(
        runner.message_hub.get_scalar('train/distill.loss_nc2').current())
    assert float(bank.counts.sum()) == 32  # both batches reached the bank
    assert not torch.equal(before, head.projector.raw_weight.detach())


@pytest.mark.parametrize('key,value,message', [
    ('model.architecture.head.in_channels', 48,
     r'model\.architecture\.head\.in_channels: 48 given, but '
     r'model\.architecture\.backbone gives 64 channels'),
    ('model.distiller.bank.feat_dim', 128,
     r'model\.distiller\.bank\.feat_dim: 128 given, but teacher recorder "feat" '
     r'\(model\.teacher\.neck, data_idx 0\) gives 256 channels'),
    ('model.architecture.head.projector.out_channels', 128,
     r'model\.architecture\.head.*projector\.out_channels=128.*256'),
])
def test_nckd_wrong_width_fails_at_build(cs, tmp_path, teacher_ckpt, key, value, message):
    with pytest.raises(ValueError, match=message):
        cs.build_model(cs.doc_config(EXAMPLE, tmp_path), teacher_ckpt, **{key: value})


def _build(cfg):
    from mmrazor.registry import MODELS
    cfg.model.teacher_ckpt = None
    with DefaultScope.overwrite_default_scope('mmrazor'):
        return MODELS.build(cfg.model)


def test_head_width_error_names_the_neck_not_pooling():
    """With a pooling neck the error is about in_channels (the issue's misleading
    "add a pooling neck"); without one, a pooling neck is what is missing."""
    cfg = Config.fromfile(SHIPPED)
    cfg.model.architecture.head.in_channels = 48
    with pytest.raises(WidthError) as info:
        _build(cfg)
    msg = str(info.value)
    assert msg.startswith('model.architecture.head.in_channels: 48 given, but '
                          'model.architecture.neck (GlobalAveragePooling) gives 64')
    assert 'pooling neck' not in msg
    cfg = Config.fromfile(SHIPPED)
    cfg.model.architecture.neck = None
    with pytest.raises(
            WidthError,
            match=r'model\.architecture\.head \(NC3Head\) needs '
            r'\(N, C\) features, but model\.architecture\.backbone gives '
            r'\(2, 64, 4, 4\): add a pooling neck'):
        _build(cfg)


def test_head_alone_names_in_channels():
    from mmpretrain.registry import MODELS
    head = MODELS.build(
        dict(
            type='mmpretrain.NC3Head', num_classes=3, in_channels=48,
            class_weights='etf'))
    with pytest.raises(
            ValueError,
            match=r'head\.in_channels=48 but the features have 64 '
            r'channels.*set head\.in_channels=64'):
        head((torch.randn(2, 64), ))
    with pytest.raises(ValueError, match='pooling neck'):
        head((torch.randn(2, 48, 2, 2), ))
    lazy = MODELS.build(
        dict(
            type='mmpretrain.NC3Head',
            num_classes=3,
            class_weights='etf',
            projector=dict(type='OrthogonalConnector')))
    with pytest.raises(RuntimeError, match='never inferred'):
        lazy((torch.randn(2, 8), ))
