"""Fixtures shared by the whole test suite (no ``sys.path`` edits: helpers are fixtures).

Layout: the test tree mirrors the package (``tests/test_models/test_connectors/...`` for
``mmkd_ext/models/connectors/...``), plus ``test_configs/`` (config build and consistency
checks), ``test_tools/`` (the scripts under ``tools/``) and ``integration/`` (training,
resume and distributed runs in subprocesses). Error-path tests sit beside the other tests
of their component; the bad-input catalogue entries keep their ids (``test_b17_...`` is
entry B17 of docs/bad_inputs.md).

Isolation: :func:`_isolated_global_state` (autouse) restores, around every test, the
global state that MMEngine, MMRazor and torch keep between calls (default registry
scope, message hub, loggers and visualizers, RNG states, deterministic flags, default
dtype, threads, environment), so the order of the tests does not matter.

Helpers (session fixtures returning functions):

* ``repo_root``: the repository root (a str);
* ``run_tool(script, *args, timeout=900, check=True)``: ``script`` in a subprocess from
  the repository root; raises with the tool's output when it fails;
* ``scalars(work_dir)``: the records of the newest ``vis_data/scalars.json``;
* ``load_tool('tools/....py')``: the tool's module, loaded from its file (its ``main``
  can then run in this process);
* ``study``: the study machinery ``tools/benchmark/study`` (a tool, not part of the
  package), loaded from its folder as the package ``study``, the name the scripts beside
  it import (``from study import ...``); ``load_tool('tools/benchmark/...')`` loads it
  first;
* ``raises(exc_type, fn, *names)``: runs ``fn``, asserts it raises ``exc_type`` with
  every name in the message (the bad-input catalogue's check); returns the message;
* ``razor_build(cfg)``: ``mmrazor.registry.MODELS.build(cfg)`` under the 'mmrazor'
  default scope (unprefixed types are MMRazor's);
* ``tiny_classifier(width=4, num_classes=10)``: a small ResNet-18 ImageClassifier
  config (unscoped MMPretrain types);
* ``digits_batch(n=16)``: a classification data batch of the first ``n`` digits
  images (32x32);
* ``doc_example(doc, name, folder)``: the example of ``docs/<doc>`` headed
  ``# configs/custom/<name>`` as a config file in ``folder`` (its path);
  ``digits_vkd_distiller_cfg``: the digits VKD experiment in its ``VKDDistiller`` form
  (docs/vkd.md), as a file;
* ``digits_teacher_files``: the digits teacher checkpoint, good and broken (wrong
  keys, wrong shapes, truncated, garbage, empty, missing);
* ``make_digits_coco``: the function of ``tools/dataset_converters/make_digits_coco.py``;
  ``digits_coco_root``: one tiny digits COCO set for the session (4 train / 2 val
  images of 64x64); ``train_digits(cfg, work_dir)``: trains a loaded detection Config
  through MMEngine's Runner on that set for 2 iterations, then validates;
* ``cifar_classifier(name, num_classes=100)``, ``repdistiller_state_dict(model,
  clf_name)``: a CIFAR-100 zoo classifier and its weights in the public RepDistiller
  layout;
* ``vidt_reference_state(arch='nano')``: seeded random weights in the ViDT reference
  layout (names and shapes from ``tests/data/checkpoint_layouts/vidt``).
"""
import functools
import importlib.util
import json
import os
import os.path as osp
import random
import re
import subprocess
import sys
from collections import OrderedDict

import numpy as np
import pytest
import torch
from mmengine.utils import ManagerMixin

# Applies mmkd_ext.compat before any test module imports MMRazor, whatever order isort
# gives a test module's imports.
import mmkd_ext  # noqa: F401,E402

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DATA = osp.join(REPO, 'tests', 'data')
DIGITS_VKD_CFG = 'configs/vkd/vkd_resnet18-w8_resnet18-w32_20e_digits.py'


def _managed_classes():
    """MMEngine's global-instance classes (DefaultScope, MessageHub, MMLogger,
    Visualizer and its subclasses...): each keeps its own ``_instance_dict``."""
    found, todo = [], [ManagerMixin]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found:
                found.append(sub)
                todo.append(sub)
    return found


# The instances as they were before any test module was imported.
_INITIAL_INSTANCES = {cls: OrderedDict(cls._instance_dict) for cls in _managed_classes()}


def _reset_instances():
    """Default scope, message hub, loggers and visualizers as before the first test (a
    Runner built by one test must not hand its visualizer or scope to the next)."""
    for cls in _managed_classes():
        cls._instance_dict = OrderedDict(_INITIAL_INSTANCES.get(cls, ()))


@pytest.fixture(autouse=True)
def _isolated_global_state():
    """Every test starts from the same global state and leaves none behind."""
    _reset_instances()
    saved = dict(
        dtype=torch.get_default_dtype(),
        deterministic=torch.are_deterministic_algorithms_enabled(),
        warn_only=torch.is_deterministic_algorithms_warn_only_enabled(),
        cudnn=(torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic),
        threads=torch.get_num_threads(),
        torch_rng=torch.get_rng_state(),
        numpy_rng=np.random.get_state(),
        python_rng=random.getstate(),
        environ=dict(os.environ))
    yield
    _reset_instances()
    torch.set_default_dtype(saved['dtype'])
    torch.use_deterministic_algorithms(
        saved['deterministic'], warn_only=saved['warn_only'])
    torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = saved['cudnn']
    if torch.get_num_threads() != saved['threads']:
        torch.set_num_threads(saved['threads'])
    torch.set_rng_state(saved['torch_rng'])
    np.random.set_state(saved['numpy_rng'])
    random.setstate(saved['python_rng'])
    if dict(os.environ) != saved['environ']:
        os.environ.clear()
        os.environ.update(saved['environ'])


# -- paths, subprocesses, logs, tools ---------------------------------------------------
def _run_tool(script, *args, timeout=900, check=True):
    env = dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS='2')
    proc = subprocess.run(
        [sys.executable, osp.join(REPO, script), *map(str, args)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f'{script} {" ".join(map(str, args))} failed '
                             f'(exit {proc.returncode}):\n{proc.stdout[-4000:]}\n'
                             f'{proc.stderr[-6000:]}')
    return proc


@pytest.fixture(scope='session')
def repo_root():
    return REPO


@pytest.fixture(scope='session')
def run_tool():
    """``run_tool('tools/train.py', cfg, '--work-dir', d, ...)`` in a subprocess
    from the repository root; raises with the tool's output when it fails."""
    return _run_tool


def read_scalars(work_dir):
    """All records of the newest ``vis_data/scalars.json`` under ``work_dir``."""
    found = []
    for root, _, files in os.walk(work_dir):
        if 'scalars.json' in files and root.endswith('vis_data'):
            found.append(osp.join(root, 'scalars.json'))
    if not found:
        raise FileNotFoundError(f'no vis_data/scalars.json under {work_dir}')
    path = max(found, key=osp.getmtime)
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


@pytest.fixture(scope='session')
def scalars():
    return read_scalars


STUDY_DIR = osp.join(REPO, 'tools', 'benchmark', 'study')


def _load_study():
    """``tools/benchmark/study`` as the package ``study`` (in ``sys.modules``, so its
    relative imports and a loaded script's ``from study import ...`` find it)."""
    module = sys.modules.get('study')
    if module is not None and osp.dirname(getattr(module, '__file__', '')) == STUDY_DIR:
        return module
    spec = importlib.util.spec_from_file_location(
        'study',
        osp.join(STUDY_DIR, '__init__.py'),
        submodule_search_locations=[STUDY_DIR])
    module = importlib.util.module_from_spec(spec)
    sys.modules['study'] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules['study']
        raise
    return module


@pytest.fixture(scope='session')
def study():
    """The study machinery of ``tools/benchmark/`` (``study.paired_difference``...)."""
    return _load_study()


def _load_tool(rel):
    if rel.replace(os.sep, '/').startswith('tools/benchmark/'):
        _load_study()  # the scripts import it as ``from study import ...``
    path = osp.join(REPO, rel)
    spec = importlib.util.spec_from_file_location(
        'tool_' + osp.splitext(osp.basename(rel))[0], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='session')
def load_tool():
    """``load_tool('tools/model_converters/x.py').main([...])`` runs a tool in this
    process (its imports are already paid for)."""
    return _load_tool


# -- error messages and builds ----------------------------------------------------------
def _raises(exc_type, fn, *names):
    """Run ``fn``; assert it raises ``exc_type`` whose message holds every name."""
    with pytest.raises(exc_type) as info:
        fn()
    msg = str(info.value)
    for name in names:
        assert name in msg, f'{name!r} not in error message: {msg}'
    return msg


@pytest.fixture(scope='session')
def raises():
    return _raises


def _razor_build(cfg):
    from mmengine.registry import DefaultScope
    from mmrazor.registry import MODELS

    with DefaultScope.overwrite_default_scope('mmrazor'):
        return MODELS.build(cfg)


@pytest.fixture(scope='session')
def razor_build():
    return _razor_build


# -- small models ------------------------------------------------------------------------
def _tiny_classifier(width=4, num_classes=10):
    """An MMPretrain ImageClassifier config: ResNet-18 (CIFAR stem) of base width
    ``width``, pooled (N, 8 * width) features, a linear head."""
    return dict(
        type='ImageClassifier',
        backbone=dict(
            type='ResNet_CIFAR',
            depth=18,
            stem_channels=width,
            base_channels=width,
            out_indices=(3, )),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=num_classes, in_channels=8 * width))


@pytest.fixture(scope='session')
def tiny_classifier():
    return _tiny_classifier


def _digits_batch(n=16):
    """The first ``n`` digits images (uint8, 32x32) and labels, as a data batch."""
    from mmpretrain.structures import DataSample

    from mmkd_ext.datasets import load_digits_arrays
    imgs, labels = load_digits_arrays(32)
    imgs = torch.from_numpy(imgs[:n]).permute(0, 3, 1, 2).contiguous()
    return dict(
        inputs=list(imgs),
        data_samples=[DataSample().set_gt_label(int(k)) for k in labels[:n]])


@pytest.fixture(scope='session')
def digits_batch():
    return _digits_batch


# -- config examples of the docs -------------------------------------------------------
def _doc_example(doc, name, folder):
    """Path of the example of ``docs/<doc>`` that starts with ``# configs/custom/<name>``,
    saved into ``folder`` with its ``_base_`` made absolute."""
    with open(osp.join(REPO, 'docs', doc), encoding='utf-8') as f:
        blocks = re.findall(r'```python\n(.*?)```', f.read(), re.S)
    for block in blocks:
        if block.splitlines()[0].strip() == f'# configs/custom/{name}':
            path = osp.join(str(folder), name)
            with open(path, 'w', encoding='utf-8') as f:
                f.write(block.replace("'../", f"'{REPO}/configs/"))
            return path
    raise AssertionError(f'docs/{doc} has no example configs/custom/{name}')


@pytest.fixture(scope='session')
def doc_example():
    """``doc_example(doc, name, folder) -> path``: a config example of the docs as a
    file (docs/custom_student.md, docs/vkd.md)."""
    return _doc_example


@pytest.fixture(scope='session')
def digits_vkd_distiller_cfg(tmp_path_factory):
    """The digits VKD experiment in its ``VKDDistiller`` form (docs/vkd.md), as a file."""
    return _doc_example('vkd.md',
                        'vkd_resnet18-w8_resnet18-w32_20e_digits_vkd-distiller.py',
                        tmp_path_factory.mktemp('doc_configs'))


# -- checkpoints of the digits teacher --------------------------------------------------
@pytest.fixture(scope='session')
def digits_teacher_files(tmp_path_factory):
    """Checkpoints for the digits teacher: good, wrong keys, wrong shapes, corrupt."""
    from mmengine.config import Config
    from mmpretrain.registry import MODELS

    tmp = tmp_path_factory.mktemp('teacher')
    cfg = Config.fromfile(osp.join(REPO, DIGITS_VKD_CFG))
    torch.manual_seed(0)
    teacher = MODELS.build(cfg.model.teacher)
    sd = teacher.state_dict()
    files = dict(missing=str(tmp / 'missing.pth'))
    files['good'] = str(tmp / 'good.pth')
    torch.save(dict(state_dict=sd), files['good'])
    keys = {('module.x' + k if i < 3 else k): v for i, (k, v) in enumerate(sd.items())}
    files['keys'] = str(tmp / 'keys.pth')
    torch.save(dict(state_dict=keys), files['keys'])
    shape = dict(sd, **{'head.fc.weight': torch.zeros(7, 3)})
    files['shape'] = str(tmp / 'shape.pth')
    torch.save(dict(state_dict=shape), files['shape'])
    with open(files['good'], 'rb') as f:
        data = f.read()
    for name, content in (('truncated', data[:len(data) // 2]),
                          ('garbage', b'not a checkpoint at all'), ('empty', b'')):
        files[name] = str(tmp / f'{name}.pth')
        with open(files[name], 'wb') as f:
            f.write(content)
    return files


# -- digits COCO detection set -----------------------------------------------------------
@pytest.fixture(scope='session')
def make_digits_coco():
    return _load_tool('tools/dataset_converters/make_digits_coco.py').make_digits_coco


@pytest.fixture(scope='session')
def digits_coco_root(tmp_path_factory, make_digits_coco):
    root = tmp_path_factory.mktemp('digits_coco')
    make_digits_coco(root, 4, 2, seed=1)
    return f'{root}/'


def _train_digits(root, cfg, work_dir):
    """2 iterations (4 images, batch 2, 1 epoch) + the COCO evaluation at the end."""
    from mmengine.runner import Runner
    cfg.merge_from_dict({
        'train_dataloader.dataset.data_root': root,
        'val_dataloader.dataset.data_root': root,
        'test_dataloader.dataset.data_root': root,
        'val_evaluator.ann_file': f'{root}annotations/instances_val.json',
        'test_evaluator.ann_file': f'{root}annotations/instances_val.json',
        'train_dataloader.batch_size': 2,
        'train_cfg.max_epochs': 1,
        'train_cfg.val_interval': 1,
        'default_hooks.logger.interval': 1,
        'default_hooks.checkpoint.interval': 2,  # no checkpoint file
        'default_hooks.checkpoint.save_last': False,
    })
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = osp.basename(str(work_dir))
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner


@pytest.fixture(scope='session')
def train_digits(digits_coco_root):
    return functools.partial(_train_digits, digits_coco_root)


# -- CIFAR-100 zoo ----------------------------------------------------------------------
def _cifar_classifier(name, num_classes=100):
    from mmpretrain.registry import MODELS

    from mmkd_ext.models.backbones.cifar_weights import CIFAR_ZOO
    backbone, _, dim = CIFAR_ZOO[name]
    return MODELS.build(
        dict(
            type='ImageClassifier',
            backbone=dict(backbone),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=num_classes, in_channels=dim)))


def _repdistiller_state_dict(model, clf_name):
    """Our classifier's weights renamed to the public checkpoints' names."""
    out = OrderedDict()
    for k, v in model.state_dict().items():
        if k.startswith('backbone.'):
            out[k[len('backbone.'):]] = v.clone()
        elif k.startswith('head.fc.'):
            out[f'{clf_name}.{k[len("head.fc."):]}'] = v.clone()
    return out


@pytest.fixture(scope='session')
def cifar_classifier():
    """``cifar_classifier(name, num_classes=100)``: a CIFAR-100 zoo classifier."""
    return _cifar_classifier


@pytest.fixture(scope='session')
def repdistiller_state_dict():
    """``repdistiller_state_dict(model, clf_name)``: its weights in the RepDistiller
    layout (backbone names as they are, the classifier as ``clf_name``)."""
    return _repdistiller_state_dict


# -- ViDT reference layout --------------------------------------------------------------
VIDT_LAYOUTS = {
    'nano': 'swin_nano.txt',
    'tiny': 'swin_tiny.txt',
    'small': 'swin_small.txt',
    'base': 'swin_base_win7_22k.txt'
}


def _vidt_reference_state(arch='nano'):
    path = osp.join(DATA, 'checkpoint_layouts', 'vidt', VIDT_LAYOUTS[arch])
    gen = torch.Generator().manual_seed(0)
    state = {}
    with open(path) as f:
        for line in f:
            if line.startswith('#') or not line.strip():
                continue
            name, shape = re.match(r'(\S+) \((.*)\)', line.strip()).groups()
            dims = tuple(int(d) for d in shape.split(',') if d.strip())
            state[name] = torch.randn(dims, generator=gen)
    return state


@pytest.fixture(scope='session')
def vidt_reference_state():
    return _vidt_reference_state
