"""Every config path the README and docs/*.md give to users exists and builds (issue 18).

The paths are collected from the text: whatever follows ``tools/train.py`` /
``tools/test.py`` (and their ``dist_`` launchers), and the files a documented config
example inherits (``_base_ = [...]``, written relative to a file in ``configs/<dir>/``).
Renaming or removing a documented config then fails here instead of in a user's shell.
Each one is built the way MMEngine's runner builds it (``MODELS.build(cfg.model)`` under
the config's default scope) with its teacher checkpoint set to ``None`` (no weights
here); configs with the same model are built once.
"""
import glob
import json
import os.path as osp
import re

import pytest
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope

import mmkd_ext  # noqa: F401

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DOCS = [osp.join(REPO, 'README.md')] + sorted(glob.glob(osp.join(REPO, 'docs', '*.md')))
COMMAND = re.compile(
    r'tools/(?:dist_)?(?:train|test)\.(?:py|sh)\s+(?:\\\s*)?(configs/[\w./-]+\.py)')
BASE = re.compile(r'_base_\s*=\s*(\[[^\]]*\]|[\'"][^\'"]+[\'"])')
ENTRY_POINT = 'configs/vkd/vidt_swin_nano_coco.py'


def documented_configs():
    """``{config path (relative to the repo): [doc files that write it]}``."""
    found = {}
    for doc in DOCS:
        text = open(doc, encoding='utf-8').read()
        paths = COMMAND.findall(text)
        for value in BASE.findall(text):
            for base in re.findall(r'[\'"]([^\'"]+\.py)[\'"]', value):
                if '::' not in base:  # mmdet::... are the libraries' own configs
                    paths.append(osp.normpath(osp.join('configs', 'any', base)))
        for path in paths:
            found.setdefault(path, []).append(osp.relpath(doc, REPO))
    return found


DOCUMENTED = documented_configs()


def test_the_users_command_is_documented_and_found():
    """The command the project is known by is in the README, and the collector sees
    both spellings of the path (after ``tools/train.py`` and after ``_base_``)."""
    assert 'README.md' in DOCUMENTED.get(ENTRY_POINT, []), sorted(DOCUMENTED)
    assert len(DOCUMENTED) >= 10, sorted(DOCUMENTED)
    assert any('_base_' in open(osp.join(REPO, d)).read() for p in DOCUMENTED
               for d in DOCUMENTED[p] if p.startswith('configs/vkd/'))


@pytest.mark.parametrize('path', sorted(DOCUMENTED))
def test_documented_config_exists(path):
    assert osp.isfile(osp.join(REPO, path)), (
        f'{path} is written in {DOCUMENTED[path]} but does not exist: keep the old path '
        f'as a config that inherits the new one, or correct the docs')


def _no_teacher_files(cfg):
    """Teacher checkpoints -> None (the model is built with its own init)."""
    model = cfg.model
    if 'teacher_ckpt' in model:
        model.teacher_ckpt = None
    if isinstance(model.get('teacher'), dict) and 'checkpoint' in model.teacher:
        model.teacher.checkpoint = None
    return cfg


def _groups():
    groups = {}
    for path in sorted(DOCUMENTED):
        if not osp.isfile(osp.join(REPO, path)):
            continue
        cfg = _no_teacher_files(Config.fromfile(osp.join(REPO, path)))
        key = json.dumps(
            [cfg.get('default_scope'), cfg.model.to_dict()], sort_keys=True, default=str)
        groups.setdefault(key, []).append(path)
    return [members for members in groups.values()]


@pytest.mark.parametrize('members', _groups(), ids=lambda m: m[0])
def test_documented_config_builds(members):
    cfg = _no_teacher_files(Config.fromfile(osp.join(REPO, members[0])))
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmengine')):
        model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.parameters()) > 0, members


def test_entry_point_is_the_openmmlab_named_config():
    """``vidt_swin_nano_coco.py`` inherits the OpenMMLab-named VKD COCO config and adds
    nothing: both give the same configuration."""
    a = Config.fromfile(osp.join(REPO, ENTRY_POINT))
    b = Config.fromfile(
        osp.join(REPO, 'configs/vkd/vkd_vidt-swin-nano_vidt-swin-base_50e_coco.py'))
    assert a.to_dict() == b.to_dict()
