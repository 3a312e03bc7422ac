"""VKDDistiller built inside MMRazor's SingleTeacherDistill on the digits models."""
import copy

import pytest
import torch
from mmengine.config import Config
from mmrazor.registry import MODELS

import mmkd_ext  # noqa: F401
from mmkd_ext.models.connectors import OrthogonalConnector
from mmkd_ext.models.utils.orthogonal import orthogonality_error


@pytest.fixture
def vkd_cfg(digits_vkd_distiller_cfg):
    """The digits VKD experiment written with VKDDistiller (docs/vkd.md), a file."""
    return digits_vkd_distiller_cfg


#: the digits pair: pooled neck features of both models
NECK_PAIR = dict(student='neck', teacher='neck', student_pool='gap', teacher_pool='gap')


def _algo_cfg(vkd_cfg, **distiller):
    cfg = Config.fromfile(vkd_cfg)
    model = copy.deepcopy(cfg.model.to_dict())
    model['teacher_ckpt'] = None
    model['distiller'].update(distiller)
    return model


def _batch(n=4):
    from mmpretrain.structures import DataSample
    inputs = torch.randn(n, 3, 32, 32)
    samples = [DataSample().set_gt_label(i % 10) for i in range(n)]
    return inputs, samples


def test_channels_inferred_by_dry_forward_and_losses(vkd_cfg):
    algo = MODELS.build(_algo_cfg(vkd_cfg))
    conns = algo.distiller.connectors
    proj = conns['vkd0_s_conn'].connectors[1]
    assert isinstance(proj, OrthogonalConnector)
    assert (proj.in_channels, proj.out_channels) == (64, 256)
    # the connector is a submodule: the optimizer (built after __init__) sees it
    names = [n for n, _ in algo.named_parameters()]
    assert 'distiller.connectors.vkd0_s_conn.connectors.1.raw_weight' in names
    assert algo.student.training and algo.teacher.training  # modes restored
    inputs, samples = _batch()
    losses = algo.loss(inputs, samples)
    assert {'distill.loss_vkd0', 'distill.loss_kl', 'student.loss'} <= set(losses)
    losses['distill.loss_vkd0'].backward()
    assert proj.raw_weight.grad is not None
    assert torch.isfinite(proj.raw_weight.grad).all()
    assert orthogonality_error(proj.weight) < 1e-5


def test_explicit_channels_and_projector_override(vkd_cfg):
    pairs = [
        dict(
            NECK_PAIR,
            student_channels=64,
            teacher_channels=256,
            projector=dict(type='LinearConnector'),
            normalizer='batch',
            normalize_student=True,
            loss_weight=2.0,
            name='feat')
    ]
    algo = MODELS.build(_algo_cfg(vkd_cfg, feature_pairs=pairs, dry_run_shape=None))
    chain = algo.distiller.connectors['feat_s_conn'].connectors
    assert [type(c).__name__ for c in chain
            ] == ['GlobalAvgPoolConnector', 'LinearConnector', 'FeatureStandardizer']
    assert algo.distiller.distill_losses['loss_feat'].loss_weight == 2.0
    losses = algo.loss(*_batch())
    assert torch.isfinite(losses['distill.loss_feat'])


def test_wrong_channels_are_clear_errors(vkd_cfg):
    pairs = [dict(NECK_PAIR, student_channels=32)]
    with pytest.raises(ValueError, match=r'feature_pairs\[0\].student_channels`=32'):
        MODELS.build(_algo_cfg(vkd_cfg, feature_pairs=pairs))
    # explicit but wrong channels: found by the build-time dry run (with the default
    # input derived from the models), before any training step
    pairs = [dict(NECK_PAIR, student_channels=32, teacher_channels=256)]
    with pytest.raises(
            ValueError,
            match=r'feature_pairs\[0\].student_channels`=32 but '
            r'"neck" \(model.architecture.neck\) gives 64'):
        MODELS.build(_algo_cfg(vkd_cfg, feature_pairs=pairs, dry_run_shape=None))
    # both given and a dry run: checked when the algorithm is built
    pairs[0].update(student_channels=64, teacher_channels=128)
    with pytest.raises(ValueError, match=r'teacher_channels`=128 .* gives 256'):
        MODELS.build(_algo_cfg(vkd_cfg, feature_pairs=pairs))
    # no dry run at all: every channel must be given
    with pytest.raises(ValueError, match='dry_run_shape` is False'):
        MODELS.build(_algo_cfg(vkd_cfg, dry_run_shape=False))
    # no dry run and wrong explicit channels: the first step still names the pair
    pairs[0].update(student_channels=32, teacher_channels=256)
    algo = MODELS.build(_algo_cfg(vkd_cfg, feature_pairs=pairs, dry_run_shape=False))
    with pytest.raises(ValueError, match=r'feature_pairs\[0\].*in_channels`=32'):
        algo.loss(*_batch())
    with pytest.raises(KeyError, match='unknown keys'):
        MODELS.build(
            _algo_cfg(
                vkd_cfg,
                feature_pairs=[dict(student='neck', teacher='neck', student_pol='gap')]))


def test_vkd_distiller_default_map_is_the_connectors():
    import inspect

    from mmkd_ext.models.distillers import VKDDistiller
    default = inspect.signature(OrthogonalConnector).parameters['parametrization'].default
    distiller = VKDDistiller(feature_pairs=[
        dict(student='neck', teacher='neck', student_channels=4, teacher_channels=8)
    ])
    conns = [
        m for m in distiller.connectors.modules() if isinstance(m, OrthogonalConnector)
    ]
    assert len(conns) == 1 and conns[0].parametrization == default


# -- bad inputs (docs/bad_inputs.md) ----------------------------------------------------
def _pair(**kw):
    return dict(NECK_PAIR, **dict(dict(student_channels=8, teacher_channels=16), **kw))


def _vkd_distiller(razor_build, **pair):
    return razor_build(dict(type='VKDDistiller', feature_pairs=[_pair(**pair)]))


def _vkd_algorithm(razor_build, vkd_cfg, **distiller):
    """The digits VKDDistiller experiment, random teacher (no checkpoint)."""
    cfg = Config.fromfile(vkd_cfg)
    cfg.model.teacher_ckpt = None
    cfg.model.distiller.update(distiller)
    return razor_build(cfg.model)


def test_b03_unknown_parametrization_in_feature_pair(raises, razor_build):
    """B3, the feature-pair key (the connector's own: test_orthogonal_connector.py)."""
    raises(ValueError, lambda: _vkd_distiller(razor_build, parametrization='qr'),
           '`parametrization`', "'qr'")


def test_b05_unknown_normaliser_in_feature_pair(raises, razor_build):
    raises(ValueError, lambda: _vkd_distiller(razor_build, normalizer='layernorm'),
           '`feature_pairs[0].normalizer`', "'whiten'", "'layernorm'")


def test_b06_unknown_pool(raises, razor_build):
    raises(ValueError, lambda: _vkd_distiller(razor_build, student_pool='max'),
           'feature_pairs[0].student_pool', "'gap'", "'max'")


def test_b07_feature_pair_key_typo(raises, razor_build):
    pair = _pair()
    pair['studnet_channels'] = pair.pop('student_channels')
    raises(KeyError, lambda: razor_build(dict(type='VKDDistiller', feature_pairs=[pair])),
           'feature_pairs[0]', 'studnet_channels', 'student_channels')


def test_b08_channels_neither_given_nor_inferable(raises, razor_build):
    # channels left out are inferred by the build-time dry run; without it
    # (dry_run_shape=False) they must be given
    raises(
        ValueError, lambda: razor_build(
            dict(
                type='VKDDistiller',
                dry_run_shape=False,
                feature_pairs=[dict(student='neck', teacher='neck')])),
        'feature_pairs[0]', '`student_channels`', '`dry_run_shape`')


def test_b09_channels_contradict_model(raises, razor_build, vkd_cfg):
    pair = _pair(student_channels=None, teacher_channels=7)
    raises(ValueError, lambda: _vkd_algorithm(razor_build, vkd_cfg, feature_pairs=[pair]),
           '`feature_pairs[0].teacher_channels`=7', '256 channels')


def test_b10_recorder_source_missing_vkd_distiller(raises, razor_build, vkd_cfg):
    pair = _pair(student='neckk', student_channels=None, teacher_channels=None)
    raises(ValueError, lambda: _vkd_algorithm(razor_build, vkd_cfg, feature_pairs=[pair]),
           'feature_pairs[i].student', '"neckk"', "'neck'")
