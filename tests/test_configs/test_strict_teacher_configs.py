"""Every shipped distillation config loads its teacher strictly (issue 11, item 2).

The configs are found by globbing ``configs/`` (``_base_`` parts excluded), so a new
config is covered without editing this file. A config is a distillation config when its
``model`` has a teacher: a ``teacher_ckpt`` / ``teacher`` entry (MMRazor algorithms such
as ``StrictTeacherDistill``, on classifiers and detectors alike) or a ``teacher`` with a
``checkpoint`` (the frozen encoder of the GAN discriminator KD). For each one the test
writes a teacher file of an unrelated small model (a plain ``torch.save`` state dict),
points the config's teacher key at it and builds ``cfg.model`` under the config's default
scope, as MMEngine's runner does: the build must stop with an error whose message names
that key (``model.teacher_ckpt``, or ``model.teacher.checkpoint`` for the GAN teachers).
MMRazor's plain ``SingleTeacherDistill`` fails this (it logs a warning and trains on
with a random teacher).

Configs whose algorithm type and teacher config are identical take the same loading
path with the same teacher, so one build per such group is run (e.g. the 24 CIFAR
BigGAN configs share the CLIP ViT-B/32 teacher); every member's type is still checked.
"""
import ast
import copy
import functools
import glob
import json
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope

import mmkd_ext  # noqa: F401
from mmkd_ext.models.distillers import StrictTeacherDistill
from mmkd_ext.models.utils.checkpoint import CheckpointError

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ALL_CONFIGS = sorted(
    p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
    if f'{osp.sep}_base_{osp.sep}' not in p)


def _rel(path):
    return osp.relpath(path, REPO)


@functools.lru_cache(maxsize=None)
def _mentions_teacher(path):
    """Whether ``path`` or any file of its ``_base_`` closure mentions a teacher or a
    distiller (a text pre-filter: parsing every config with MMEngine takes a while)."""
    text = open(path).read()
    if 'teacher' in text or 'Distill' in text:
        return True
    bases = []
    for node in ast.parse(text).body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == '_base_' for t in node.targets):
            value = ast.literal_eval(node.value)
            bases = [value] if isinstance(value, str) else list(value)
    return any(
        _mentions_teacher(osp.normpath(osp.join(osp.dirname(path), b))) for b in bases
        if '::' not in b)


def teacher_key(cfg):
    """The config key of the teacher file, or ``None`` for a config without teacher."""
    model = cfg.get('model')
    if not isinstance(model, dict):
        return None
    if 'teacher_ckpt' in model:
        return 'model.teacher_ckpt'
    teacher = model.get('teacher')
    if isinstance(teacher, dict):
        if 'checkpoint' in teacher:
            return 'model.teacher.checkpoint'
        return 'model.teacher_ckpt'  # an algorithm with a teacher must take the key
    if 'Distill' in str(model.get('type', '')):
        return 'model.teacher_ckpt'
    return None


def _signature(cfg):
    """Configs with the same algorithm type and teacher load the same way."""
    model = cfg.model
    parts = [
        model.get('type'),
        model.get('_scope_'),
        cfg.get('default_scope'),
        model.get('teacher'),
        model.get('teacher_trainable')
    ]
    return json.dumps(parts, sort_keys=True, default=str)


CONFIGS = {}  # config (relative path) -> Config, for the distillation configs
DISTILL = {}  # config (relative path) -> teacher key
GROUPS = {}  # signature -> configs
for _path in filter(_mentions_teacher, ALL_CONFIGS):
    _cfg = Config.fromfile(_path, import_custom_modules=False)
    _key = teacher_key(_cfg)
    if _key is not None:
        CONFIGS[_rel(_path)] = _cfg
        DISTILL[_rel(_path)] = _key
        GROUPS.setdefault(_signature(_cfg), []).append(_rel(_path))
REPRESENTATIVES = [members[-1] for members in GROUPS.values()]


def test_distillation_configs_found():
    """The glob finds every family: classification (CIFAR, digits, ImageNet DeiT),
    detection (ViDT VKD and token matching) and GAN discriminator KD."""
    names = ' '.join(DISTILL)
    for family in ('vkd/vkd_vgg8_resnet50_240e_cifar100.py',
                   'nckd/nckd_wrn-16-2_wrn-40-2_240e_cifar100.py',
                   'kd/kd_resnet18-w8_resnet18-w32_20e_digits.py',
                   'vkd/vkd_deit-tiny-convstem_regnety160_300e_in1k.py',
                   'vkd/vkd_deit-small-convstem_regnety160_300e_in1k.py',
                   'vkd/vkd_vidt-swin-nano_vidt-swin-base_50e_coco.py',
                   'vkd/vkd_vidt-swin-nano_vidt-swin-tiny_12e_digits.py',
                   'vkd/vkd_vidt-swin-nano_vidt-swin-small_50e_coco.py', 'token_matching/'
                   'token-matching_vidt-swin-nano_vidt-swin-base_50e_coco.py',
                   'vkd/vkd_biggan-diffaug_clip-vit-b32_125k_cifar10-10pct.py',
                   'vkd/vkd_biggan-diffaug_resnet18-w32_3k_digits-10pct.py'):
        assert f'configs/{family}' in names, family
    # plain trainings are not distillation configs
    assert 'configs/vidt/vidt_swin-base_50e_coco.py' not in DISTILL
    assert 'configs/cifar100/resnet32x4_240e_cifar100.py' not in DISTILL


@pytest.mark.parametrize(
    'config', sorted(p for p, k in DISTILL.items() if k == 'model.teacher_ckpt'))
def test_algorithm_is_strict(config):
    """Every algorithm with ``teacher_ckpt`` is ``StrictTeacherDistill`` (or a
    subclass), never MMRazor's non-strict ``SingleTeacherDistill``."""
    cfg = CONFIGS[config]
    from mmrazor.registry import MODELS as RAZOR_MODELS
    scope = cfg.model.get('_scope_', cfg.get('default_scope'))
    with DefaultScope.overwrite_default_scope(scope):
        cls = RAZOR_MODELS.get(cfg.model.type)
    assert cls is not None and issubclass(cls, StrictTeacherDistill), (
        f'{config}: model.type={cfg.model.type!r} does not load model.teacher_ckpt '
        'strictly')


@pytest.fixture(scope='module')
def wrong_teacher_file(tmp_path_factory):
    """The state dict of an unrelated small network, saved with ``torch.save``."""
    torch.manual_seed(0)
    other = nn.Sequential(
        nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        nn.Flatten(), nn.Linear(8, 10))
    path = tmp_path_factory.mktemp('wrong_teacher') / 'other_model.pth'
    torch.save(other.state_dict(), path)
    return str(path)


@pytest.mark.parametrize('config', REPRESENTATIVES)
def test_wrong_teacher_file_stops_the_build(config, wrong_teacher_file):
    key = DISTILL[config]
    cfg = copy.deepcopy(CONFIGS[config])
    cfg.merge_from_dict({key: wrong_teacher_file})
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        with pytest.raises(CheckpointError) as info:
            MODELS.build(cfg.model)
    message = str(info.value)
    assert key in message and wrong_teacher_file in message, message


def test_groups_share_the_teacher_key():
    """The configs of a group (one build above stands for all) set the teacher file
    through the same key."""
    for members in GROUPS.values():
        assert len({DISTILL[m] for m in members}) == 1, members


def test_control_mmrazor_single_teacher_distill_is_not_strict(wrong_teacher_file):
    """The check above can fail: MMRazor's own ``SingleTeacherDistill`` builds with the
    same wrong file (it only logs the unmatched keys and keeps a random teacher)."""
    config = 'configs/kd/kd_resnet18-w8_resnet18-w32_20e_digits.py'
    cfg = copy.deepcopy(CONFIGS[config])
    cfg.model.type = 'SingleTeacherDistill'
    cfg.model.teacher_ckpt = wrong_teacher_file
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        model = MODELS.build(cfg.model)
    assert type(model).__name__ == 'SingleTeacherDistill'
