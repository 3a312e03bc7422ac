"""A crafted malicious checkpoint is refused by every loading path of mmkd_ext.

The payload is a pickled object whose ``__reduce__`` runs ``os.system('touch
<marker>')`` (or ``builtins.getattr`` abuse). Each test hands such a file to one real
loading path and asserts (1) the load is refused with an error naming the config key /
file and (2) the marker file does not exist, i.e. nothing from the file was executed.
``test_payload_is_live`` proves the payload does create the marker when unpickled
without restrictions, so these tests can fail.

Paths covered: MMEngine's ``CheckpointLoader`` (resume, ``load_from``, ``load_checkpoint``
as used by MMRazor's ``teacher_ckpt``), init_cfg ``Pretrained``, MMRazor
``SingleTeacherDistill.teacher_ckpt`` and our ``StrictTeacherDistill`` (CIFAR / timm /
MMEngine layouts), the converters under ``tools/model_converters/``, the ViDT reference
and Swin ImageNet loaders, NCKD prototype files, ``nc_analysis.load_classifier`` (the
NC analysis tools), the GAN teacher encoder / Inception / classifier feature-extractor
weights, and the CIFAR python-pickle datasets. One ``tools/train.py`` subprocess checks
``load_from`` end to end (``--resume``: tests/integration/test_kd_pipeline.py).
"""
import os
import os.path as osp
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch

import mmkd_ext  # noqa: F401  (applies compat, registers modules)
from mmkd_ext.models.utils.checkpoint import UnsafeCheckpointError, safe_torch_load

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


class _SystemPayload:
    """Unpickling this object runs ``touch <marker>``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


class _GetattrPayload:
    """Reaches beyond HistoryBuffer's statistics methods via ``builtins.getattr``."""

    def __reduce__(self):
        from mmengine.logging import HistoryBuffer
        return getattr, (HistoryBuffer, '__init__')


def _state():
    return {
        'backbone.conv1.weight': torch.zeros(2, 3, 1, 1),
        'head.fc.weight': torch.zeros(3, 2)
    }


def write_evil_ckpt(path, marker, legacy=False):
    """An MMEngine-looking checkpoint with the payload in ``meta``."""
    torch.save(
        dict(state_dict=_state(), meta=dict(hook=_SystemPayload(marker))),
        str(path),
        _use_new_zipfile_serialization=not legacy)
    return str(path)


@pytest.fixture
def evil(tmp_path):
    marker = tmp_path / 'pwned'
    return write_evil_ckpt(tmp_path / 'evil.pth', marker), marker


def assert_refused(excinfo, marker, *names):
    assert not osp.exists(marker), 'the malicious payload was executed'
    msg = str(excinfo.value)
    for name in names:
        assert name in msg, f'{name!r} not in error message: {msg}'


def test_payload_is_live(tmp_path):
    """Control: the same bytes DO run the payload without weights_only."""
    marker = tmp_path / 'pwned'
    path = write_evil_ckpt(tmp_path / 'evil.pth', marker)
    torch.load(path, weights_only=False)
    assert osp.exists(marker)


@pytest.mark.parametrize('legacy', [False, True], ids=['zip', 'legacy'])
def test_safe_torch_load_refuses(tmp_path, legacy):
    marker = tmp_path / 'pwned'
    path = write_evil_ckpt(tmp_path / 'evil.pth', marker, legacy=legacy)
    with pytest.raises(UnsafeCheckpointError) as exc:
        safe_torch_load(path, key_hint='model.teacher_ckpt')
    assert_refused(exc, marker, 'model.teacher_ckpt', path, 'system')


def test_getattr_beyond_history_buffer_refused(tmp_path):
    path = str(tmp_path / 'getattr.pth')
    torch.save(dict(state_dict=_state(), meta=_GetattrPayload()), path)
    with pytest.raises((UnsafeCheckpointError, RuntimeError)) as exc:
        safe_torch_load(path, key_hint='load_from')
    assert 'load_from' in str(exc.value) and path in str(exc.value)


def test_mmengine_state_still_loads(tmp_path):
    """Control: message-hub buffers and numpy values keep loading (weights_only)."""
    from mmengine.logging import HistoryBuffer
    buf = HistoryBuffer()
    buf.update(1.5)
    path = str(tmp_path / 'ok.pth')
    torch.save(
        dict(
            state_dict=_state(),
            message_hub=dict(buf=buf),
            meta=dict(seed=np.int64(3), arr=np.arange(3, dtype=np.float32))), path)
    ckpt = safe_torch_load(path)
    assert ckpt['message_hub']['buf'].mean() == 1.5
    assert ckpt['meta']['seed'] == 3


# -- MMEngine: resume / load_from / load_checkpoint / init_cfg Pretrained ---------------
def test_mmengine_checkpoint_loader(evil):
    """Runner.resume and Runner.load_checkpoint (load_from) call this loader."""
    from mmengine.runner.checkpoint import CheckpointLoader, _load_checkpoint
    path, marker = evil
    for fn in (lambda: CheckpointLoader.load_checkpoint(path, map_location='cpu'),
               lambda: _load_checkpoint(path, map_location='cpu')):
        with pytest.raises(UnsafeCheckpointError) as exc:
            fn()
        assert_refused(exc, marker, path)


def test_mmengine_load_checkpoint(evil):
    from mmengine.runner import load_checkpoint
    path, marker = evil
    with pytest.raises(UnsafeCheckpointError) as exc:
        load_checkpoint(torch.nn.Linear(2, 3), path)
    assert_refused(exc, marker, path)


def test_init_cfg_pretrained(evil):
    from mmpretrain.registry import MODELS
    path, marker = evil
    for init_cfg in (dict(type='Pretrained', checkpoint=path),
                     dict(type='Pretrained', checkpoint=path, prefix='backbone.')):
        model = MODELS.build(
            dict(type='mmpretrain.ResNet_CIFAR', depth=18, init_cfg=init_cfg))
        with pytest.raises(UnsafeCheckpointError) as exc:
            model.init_weights()
        assert_refused(exc, marker, path)


def test_train_load_from_subprocess(evil, tmp_path):
    """End to end: ``tools/train.py --cfg-options load_from=<evil>`` refuses it."""
    path, marker = evil
    work = tmp_path / 'work'
    proc = subprocess.run([
        sys.executable, 'tools/train.py', 'configs/digits/resnet18-w8_20e_digits.py',
        '--work-dir',
        str(work), '--cfg-options', f'load_from={path}', 'train_cfg.max_epochs=1',
        'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0'
    ],
                          cwd=REPO,
                          capture_output=True,
                          text=True,
                          timeout=300,
                          env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert proc.returncode != 0
    assert not osp.exists(marker), 'the malicious payload was executed'
    assert 'UnsafeCheckpointError' in proc.stderr and path in proc.stderr, \
        proc.stderr[-3000:]
    assert not list(work.rglob('*.pth')), 'a checkpoint was written after refusal'


# -- teacher checkpoints ----------------------------------------------------------------
def _digits_kd_model(tmp_ckpt, algorithm):
    from mmengine.config import Config
    from mmrazor.registry import MODELS
    cfg = Config.fromfile(
        osp.join(REPO, 'configs/kd/kd_resnet18-w8_resnet18-w32_20e_digits.py'))
    cfg.model.type = algorithm
    cfg.model.teacher_ckpt = tmp_ckpt
    return MODELS.build(cfg.model)


@pytest.mark.parametrize('algorithm', ['SingleTeacherDistill', 'StrictTeacherDistill'])
def test_teacher_ckpt(evil, algorithm):
    path, marker = evil
    with pytest.raises(UnsafeCheckpointError) as exc:
        _digits_kd_model(path, algorithm)
    assert_refused(exc, marker, path)
    if algorithm == 'StrictTeacherDistill':
        assert 'model.teacher_ckpt' in str(exc.value)


def test_classifier_checkpoint_layouts(evil):
    """CIFAR (RepDistiller) / timm / DeiT / MMEngine layouts share this loader."""
    from mmkd_ext.models.utils.classifier_ckpt import load_classifier_checkpoint
    path, marker = evil
    with pytest.raises(UnsafeCheckpointError) as exc:
        load_classifier_checkpoint(
            torch.nn.Linear(2, 3), path, key_hint='model.teacher_ckpt')
    assert_refused(exc, marker, path, 'model.teacher_ckpt')


# -- converters -------------------------------------------------------------------------
@pytest.mark.parametrize('tool,extra', [
    ('tools/model_converters/convert_cifar_teacher.py', ['--arch', 'resnet8x4']),
    ('tools/model_converters/convert_kd_ckpt_to_student.py', []),
])
def test_converters(evil, tmp_path, tool, extra, load_tool):
    path, marker = evil
    dst = tmp_path / 'out' / 'converted.pth'
    with pytest.raises(UnsafeCheckpointError) as exc:
        load_tool(tool).main([path, str(dst), *extra])
    assert_refused(exc, marker, path, 'src')
    assert not osp.exists(dst) and not osp.exists(str(dst) + '.tmp')


# -- detection --------------------------------------------------------------------------
def test_swin_imagenet_pretrained(evil):
    from mmdet.registry import MODELS
    path, marker = evil
    backbone = MODELS.build(
        dict(type='mmdet.ViDTSwinTransformer', arch='nano', pretrained=path))
    with pytest.raises(UnsafeCheckpointError) as exc:
        backbone.init_weights()
    assert_refused(exc, marker, path, 'model.backbone.pretrained')


def test_vidt_reference(evil):
    from mmkd_ext.models.detectors.vidt_weights import load_vidt_reference
    path, marker = evil
    # the file is read (and refused) before the model is touched
    with pytest.raises(UnsafeCheckpointError) as exc:
        load_vidt_reference(None, path, key_hint='load_from')
    assert_refused(exc, marker, path, 'load_from')


# -- NCKD -------------------------------------------------------------------------------
def test_prototype_file(evil):
    from mmkd_ext.models.utils.prototype_bank import PrototypeBank
    path, marker = evil
    with pytest.raises(UnsafeCheckpointError) as exc:
        PrototypeBank(10, 4, mode='file', path=path)
    assert_refused(exc, marker, path, 'bank.path')


def test_nc_analysis_checkpoint(evil):
    """tools/analysis_tools/{nc_report,extract_prototypes}.py load through this."""
    from mmengine.config import Config

    from mmkd_ext.evaluation.nc_analysis import load_classifier
    path, marker = evil
    cfg = Config.fromfile(osp.join(REPO, 'configs/digits/resnet18-w8_20e_digits.py'))
    with pytest.raises(UnsafeCheckpointError) as exc:
        load_classifier(cfg, path)
    assert_refused(exc, marker, path, 'checkpoint')


# -- GAN --------------------------------------------------------------------------------
def test_gan_teacher_encoder(evil):
    from mmkd_ext.models.gans.frozen_encoder import FrozenImageEncoder
    path, marker = evil
    for prefixes in (None, dict(backbone='backbone.')):
        with pytest.raises(UnsafeCheckpointError) as exc:
            FrozenImageEncoder(
                backbone=dict(type='mmpretrain.ResNet_CIFAR', depth=18),
                checkpoint=path,
                ckpt_prefixes=prefixes,
                key_hint='model.teacher')
        assert_refused(exc, marker, path, 'model.teacher.checkpoint')


def test_gan_metric_weights(evil):
    from mmkd_ext.evaluation.gan_feature_extractors import (ClassifierFeatureExtractor,
                                                            InceptionV3FeatureExtractor)
    path, marker = evil
    with pytest.raises(UnsafeCheckpointError) as exc:
        InceptionV3FeatureExtractor(weights=path)
    assert_refused(exc, marker, path, 'feature_extractor.weights')
    model = dict(
        _scope_='mmpretrain',
        type='ImageClassifier',
        backbone=dict(type='ResNet_CIFAR', depth=18),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=10, in_channels=512))
    with pytest.raises(UnsafeCheckpointError) as exc:
        ClassifierFeatureExtractor(model=model, checkpoint=path)
    assert_refused(exc, marker, path, 'feature_extractor.checkpoint')


# -- datasets stored as python pickles --------------------------------------------------
def _evil_cifar_pickle(path, marker, label_key):
    entry = {
        label_key: [0, 1],
        'data': np.zeros((2, 3072), np.uint8),
        'evil': _SystemPayload(marker)
    }
    with open(path, 'wb') as f:
        pickle.dump(entry, f, protocol=2)


def _refuses_evil_cifar100(tmp_path, build, *names):
    """``build(data_root)`` on a CIFAR-100 folder whose train pickle holds code."""
    marker = tmp_path / 'pwned'
    folder = tmp_path / 'cifar-100-python'
    folder.mkdir()
    _evil_cifar_pickle(folder / 'train', marker, 'fine_labels')
    with pytest.raises(ValueError) as exc:
        build(str(tmp_path))
    assert_refused(exc, marker, str(folder / 'train'), *names)


def test_local_cifar100_pickle(tmp_path):
    from mmpretrain.registry import DATASETS
    _refuses_evil_cifar100(
        tmp_path, lambda root: DATASETS.build(
            dict(type='mmpretrain.LocalCIFAR100', data_root=root, split='train')),
        'system')


def test_cifar_gan_dataset_pickle(tmp_path):
    from mmkd_ext.datasets import CIFARGANDataset
    _refuses_evil_cifar100(
        tmp_path, lambda root: CIFARGANDataset(root, variant='cifar100', split='train'),
        'dataset.data_root')
