"""The shipped ViDT distillation configs: one layout (bases under configs/_base_), VKD
through ``VKDDistiller`` with inferred widths, token matching, both on the Swin-base
teacher of configs/_base_/distill/vidt_swin-base_teacher.py. (Training through the
Runner: tests/test_models/test_distillers/test_custom_student_vidt.py.)"""
import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DETECTION = sorted(
    glob.glob(osp.join(REPO, 'configs/vidt/*.py')) +
    glob.glob(osp.join(REPO, 'configs/vkd/vkd_vidt-*.py')) +
    glob.glob(osp.join(REPO, 'configs/token_matching/*.py')))

# variants of the digits token-matching leaf for the detection pilot (docs/studies.md)
PILOT_VARIANTS = ('w1', 'w025', 'no-decoder')


def _build(cfg_path):
    from mmrazor.registry import MODELS

    import mmkd_ext  # noqa: F401
    cfg = Config.fromfile(osp.join(REPO, cfg_path))
    cfg.model.teacher_ckpt = None
    with DefaultScope.overwrite_default_scope('mmrazor'):
        return MODELS.build(cfg.model)


def _flat_keys(cfg, prefix=''):
    if isinstance(cfg, dict):
        for k, v in cfg.items():
            yield f'{prefix}{k}'
            yield from _flat_keys(v, f'{prefix}{k}.')
    elif isinstance(cfg, (list, tuple)):
        for i, v in enumerate(cfg):
            yield from _flat_keys(v, f'{prefix}{i}.')


@pytest.mark.parametrize('path', DETECTION, ids=osp.basename)
def test_detection_config_layout(path):
    """OpenMMLab names ({method}_{student}_{teacher}_{schedule}_{dataset}, '-' inside a
    field) and no widths written by hand: they all follow from the models."""
    name = osp.basename(path)[:-3]
    fields = name.split('_')
    if fields[-1] in PILOT_VARIANTS:  # a variant of a leaf: one trailing field
        fields = fields[:-1]
    assert len(fields) in (4, 5) and all(fields), name
    assert fields[-1] in ('coco', 'digits') and fields[-2].endswith('e'), name
    cfg = Config.fromfile(path)
    keys = list(_flat_keys(cfg.to_dict()))
    assert not [k for k in keys if k.endswith('in_channels')]  # neck, connectors
    assert not [k for k in keys if 'distiller' in k and k.endswith('_channels')]
    assert not [k for k in keys if k.endswith('num_det_tokens')]  # = num_queries


def test_vkd_config_uses_vkd_distiller_with_inferred_widths():
    model = _build('configs/vkd/vkd_vidt-swin-nano_vidt-swin-base_50e_coco.py')
    distiller = model.distiller
    assert type(distiller).__name__ == 'VKDDistiller'
    assert sorted(distiller.distill_losses) == sorted(f'loss_vkd_{n}'
                                                      for n in ('p0', 'p1', 'p2', 'p3',
                                                                'det', 'dec'))
    assert all(loss.loss_weight == 4.0 for loss in distiller.distill_losses.values())
    assert [(m.in_channels, m.out_channels) for m in distiller.connectors.modules()
            if type(m).__name__ == 'OrthogonalConnector'] == [(256, 256)] * 6
    chains = {
        k: [type(c).__name__ for c in v.connectors]
        for k, v in distiller.connectors.items()
    }
    assert chains['vkd_p0_s_conn'] == ['OrthogonalConnector', 'FeatureStandardizer']
    assert chains['vkd_dec_s_conn'] == [
        'FlattenTokensConnector', 'OrthogonalConnector', 'FeatureStandardizer'
    ]
    assert chains['vkd_dec_t_conn'] == ['FlattenTokensConnector', 'FeatureStandardizer']
    assert all(distiller.connectors[f'vkd_{n}_s_conn'].connectors[-2].scale is not None
               for n in ('p0', 'det'))
    # the teacher: Swin-base, deterministic forward (no dropout / drop-path)
    assert model.teacher.backbone.arch == 'base'
    import torch
    assert all(m.p == 0 for m in model.teacher.modules()
               if isinstance(m, torch.nn.Dropout))


def test_token_matching_config_builds():
    model = _build('configs/token_matching/'
                   'token-matching_vidt-swin-nano_vidt-swin-base_50e_coco.py')
    assert type(model.distiller.distill_losses['loss_tm']).__name__ == \
        'TokenMatchingLoss'
    assert model.teacher.backbone.arch == 'base'


@pytest.mark.parametrize('variant, weight, decoder_term', [('', 4.0, True),
                                                           ('_w1', 1.0, True),
                                                           ('_w025', 0.25, True),
                                                           ('_no-decoder', 4.0, False)])
def test_token_matching_pilot_variants_build(variant, weight, decoder_term):
    """The detection pilot's arms (docs/studies.md): each variant inherits exactly the
    digits token-matching leaf and changes only the loss weight or the decoder
    term."""
    leaf = ('configs/token_matching/'
            'token-matching_vidt-swin-nano_vidt-swin-tiny_12e_digits')
    if variant:
        cfg = Config.fromfile(osp.join(REPO, leaf + variant + '.py'))
        with open(osp.join(REPO, leaf + variant + '.py')) as f:
            text = f.read()
        assert f"_base_ = ['./{osp.basename(leaf)}.py']" in text
        base = Config.fromfile(osp.join(REPO, leaf + '.py')).to_dict()
        diff = {
            k
            for k in set(_flat_keys(base)) | set(_flat_keys(cfg.to_dict()))
            if _get(base, k) != _get(cfg.to_dict(), k)
        }
        loss_key = 'model.distiller.distill_losses.loss_tm'
        assert diff and all(
            k.startswith(loss_key) or loss_key.startswith(k) for k in diff), diff
    model = _build(leaf + variant + '.py')
    loss = model.distiller.distill_losses['loss_tm']
    assert type(loss).__name__ == 'TokenMatchingLoss'
    assert (loss.loss_weight, loss.decoder_term) == (weight, decoder_term)
    assert model.teacher.backbone.arch == 'tiny'


def _get(cfg, dotted):
    for k in dotted.split('.'):
        if isinstance(cfg, dict) and k in cfg:
            cfg = cfg[k]
        elif isinstance(cfg, (list, tuple)) and k.isdigit() and int(k) < len(cfg):
            cfg = cfg[int(k)]
        else:
            return '<missing>'
    return cfg
