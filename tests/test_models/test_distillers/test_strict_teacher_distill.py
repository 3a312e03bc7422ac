"""StrictTeacherDistill: the teacher checkpoint is read in its layout (MMEngine,
RepDistiller CIFAR, timm / DeiT) and loaded strictly; missing, wrong-key, wrong-shape and
corrupted files stop the build with the config key and the file in the message."""
import pytest
import torch
from mmengine.config import Config

import mmkd_ext  # noqa: F401
from mmkd_ext.models.backbones.cifar_weights import CIFAR_ZOO
from mmkd_ext.models.utils.checkpoint import CheckpointError

DIGITS_VKD_CFG = 'configs/vkd/vkd_resnet18-w8_resnet18-w32_20e_digits.py'


def test_strict_teacher_distill_refuses_a_wrong_teacher_file(tmp_path, cifar_classifier,
                                                             repdistiller_state_dict):
    from mmrazor.registry import MODELS as RAZOR_MODELS

    def cls_cfg(name):
        backbone, _, dim = CIFAR_ZOO[name]
        return dict(
            _scope_='mmpretrain',
            type='ImageClassifier',
            backbone=dict(backbone),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=100, in_channels=dim))

    path = tmp_path / 'resnet8x4.pth'
    teacher = cifar_classifier('resnet8x4')
    torch.save({'model': repdistiller_state_dict(teacher, 'fc')}, path)
    algo = dict(
        type='StrictTeacherDistill',
        architecture=cls_cfg('resnet8x4'),
        distiller=dict(type='ConfigurableDistiller'),
        teacher_ckpt=str(path))
    ok = RAZOR_MODELS.build(dict(algo, teacher=cls_cfg('resnet8x4')))
    assert ok.teacher_ckpt_layout.startswith('cifar') and ok.teacher.is_init
    assert torch.equal(ok.teacher.head.fc.weight, teacher.head.fc.weight)
    with pytest.raises(CheckpointError, match='model.teacher_ckpt.*missing key'):
        RAZOR_MODELS.build(dict(algo, teacher=cls_cfg('wrn_16_2')))


# -- bad inputs (docs/bad_inputs.md): teacher checkpoints -------------------------------
def _strict_teacher(razor_build, repo_root, path, algorithm='StrictTeacherDistill'):
    cfg = Config.fromfile(f'{repo_root}/{DIGITS_VKD_CFG}')
    cfg.model.type = algorithm
    cfg.model.teacher_ckpt = path
    return razor_build(cfg.model)


def test_b25_teacher_checkpoint_missing(digits_teacher_files, raises, razor_build,
                                        repo_root):
    path = digits_teacher_files['missing']
    raises(CheckpointError, lambda: _strict_teacher(razor_build, repo_root, path),
           'model.teacher_ckpt', path, 'does not exist')
    raises(CheckpointError,
           lambda: _strict_teacher(razor_build, repo_root, path, 'SingleTeacherDistill'),
           path, 'does not exist')


def test_b26_teacher_checkpoint_wrong_keys(digits_teacher_files, raises, razor_build,
                                           repo_root):
    path = digits_teacher_files['keys']
    raises(CheckpointError, lambda: _strict_teacher(razor_build, repo_root, path),
           'model.teacher_ckpt', path, '3 missing key(s)', 'backbone.conv1.weight',
           'unexpected')


def test_b26_shipped_config_refuses_wrong_keys(digits_teacher_files, raises, razor_build,
                                               repo_root):
    cfg = Config.fromfile(f'{repo_root}/{DIGITS_VKD_CFG}')
    cfg.model.teacher_ckpt = digits_teacher_files['keys']
    raises(CheckpointError, lambda: razor_build(cfg.model), 'teacher_ckpt')


def test_b27_teacher_checkpoint_wrong_shapes(digits_teacher_files, raises, razor_build,
                                             repo_root):
    path = digits_teacher_files['shape']
    raises(CheckpointError, lambda: _strict_teacher(razor_build, repo_root, path),
           'model.teacher_ckpt', path, 'shape mismatch',
           'head.fc.weight: file (7, 3) vs model (10, 256)')


@pytest.mark.parametrize('kind', ['truncated', 'garbage', 'empty'])
def test_b28_corrupted_checkpoint(digits_teacher_files, kind, raises, razor_build,
                                  repo_root):
    """B28, ``model.teacher_ckpt`` (MMEngine's loader, for ``load_from`` / ``--resume``:
    tests/test_compat.py)."""
    path = digits_teacher_files[kind]
    raises(CheckpointError, lambda: _strict_teacher(razor_build, repo_root, path),
           'model.teacher_ckpt', path, 'not a readable torch checkpoint')


def test_teacher_input_size_resizes_only_the_teachers_input(razor_build, repo_root,
                                                            raises):
    """``teacher_input_size``: the teacher sees the batch resized (bilinear,
    antialiased) to its training resolution, the student the batch as it is; the
    teacher's recorded features are those of the resized input. Bad values name the
    key."""
    import os.path as osp

    import torch.nn.functional as F
    cfg = Config.fromfile(osp.join(repo_root, DIGITS_VKD_CFG))
    cfg.model.teacher_ckpt = None
    cfg.model.teacher_input_size = (8, 8)
    model = razor_build(cfg.model)
    seen = {}
    model.teacher.backbone.register_forward_pre_hook(
        lambda m, a: seen.__setitem__('teacher', a[0]))
    model.architecture.backbone.register_forward_pre_hook(
        lambda m, a: seen.__setitem__('student', a[0]))
    x = torch.randn(2, 3, 16, 16)
    model.eval()
    model.architecture(x, None, mode='tensor')
    model.teacher(x, None, mode='tensor')
    assert seen['student'].shape[-2:] == (16, 16)
    want = F.interpolate(
        x, size=(8, 8), mode='bilinear', align_corners=False, antialias=True)
    assert torch.equal(seen['teacher'], want)
    for bad in ((8, ), (8, 0), 'x'):
        cfg.model.teacher_input_size = bad
        raises(ValueError, lambda: razor_build(cfg.model), 'model.teacher_input_size')
