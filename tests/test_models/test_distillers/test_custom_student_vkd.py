"""Bring your own student, classification VKD: the worked examples of
docs/custom_student.md (a shipped digits VKD config with only the student's architecture
changed; no width written) build, infer every width and train 2 iterations through
MMEngine's Runner; a wrong explicit width fails while the model is built, naming the
config key and both widths."""
import math
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

import mmkd_ext  # noqa: F401
from mmkd_ext.models.connectors import OrthogonalConnector
from mmkd_ext.models.distillers import WidthError

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
DOC = osp.join(REPO, 'docs', 'custom_student.md')
TWO_ITERS = {  # 32 training images in batches of 16: one epoch of 2 iterations
    'train_dataloader.dataset.subset_ratio': 32 / 1437,
    'train_dataloader.batch_size': 16,
    'train_cfg.max_epochs': 1,
    'train_cfg.val_begin': 2,
    'param_scheduler.T_max': 1,
    'default_hooks.logger.interval': 1,
    'default_hooks.checkpoint.interval': -1,
    'default_hooks.checkpoint.save_last': False,
}


def doc_config(name, tmp_path):
    """The example of docs/custom_student.md that starts with
    ``# configs/custom/<name>``, saved under tmp_path (``_base_`` made absolute)."""
    with open(DOC) as f:
        blocks = re.findall(r'```python\n(.*?)```', f.read(), re.S)
    for block in blocks:
        if block.splitlines()[0].strip() == f'# configs/custom/{name}':
            path = tmp_path / name
            path.write_text(block.replace("'../", f"'{REPO}/configs/"))
            return Config.fromfile(str(path))
    raise AssertionError(f'docs/custom_student.md has no example configs/custom/{name}')


@pytest.fixture(scope='module')
def teacher_ckpt(tmp_path_factory):
    """A freshly built digits teacher's weights (the shipped teacher config)."""
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile(osp.join(REPO, 'configs/digits/resnet18-w32_20e_digits.py'))
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp('teacher') / 'teacher.pth'
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        torch.save({'state_dict': MODELS.build(cfg.model).state_dict()}, path)
    return str(path)


def build_runner(cfg, tmp_path, teacher_ckpt, **options):
    cfg.merge_from_dict(
        dict(TWO_ITERS, **{'model.teacher_ckpt': teacher_ckpt}, **options))
    cfg.work_dir = str(tmp_path / 'work')
    with DefaultScope.overwrite_default_scope(cfg.default_scope):  # no scope leak
        return Runner.from_cfg(cfg)


def build_model(cfg, teacher_ckpt, **options):
    """What Runner.from_cfg does first: build the algorithm from cfg.model."""
    from mmrazor.registry import MODELS
    cfg.merge_from_dict(dict({'model.teacher_ckpt': teacher_ckpt}, **options))
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        return MODELS.build(cfg.model)


def train_two_iterations(runner, loss_key):
    with DefaultScope.overwrite_default_scope('mmrazor'):
        runner.train()
    assert runner.iter == 2
    value = runner.message_hub.get_scalar(f'train/{loss_key}').current()
    assert math.isfinite(value)


def projector(algorithm, name):
    conns = [
        m for m in algorithm.distiller.connectors[name].modules()
        if isinstance(m, OrthogonalConnector)
    ]
    assert len(conns) == 1
    return conns[0]


STANDARD = 'vkd_mobilenetv2-0.5x_resnet18-w32_20e_digits.py'
COMPACT = 'vkd_shufflenetv2-0.5x_resnet18-w32_20e_digits_vkd-distiller.py'


def test_standard_distiller_mobilenetv2_student_trains(tmp_path, teacher_ckpt):
    cfg = doc_config(STANDARD, tmp_path)
    assert 'in_channels' not in cfg.model.distiller.connectors.vkd_s
    runner = build_runner(cfg, tmp_path, teacher_ckpt)
    algorithm = runner.model
    proj = projector(algorithm, 'vkd_s')
    assert (proj.in_channels, proj.out_channels) == (1280, 256)
    assert algorithm.distiller.inferred_widths == {
        'model.distiller.connectors.vkd_s.in_channels': 1280,
        'model.distiller.connectors.vkd_s.out_channels': 256
    }
    # built before the optimizer: the projector is trained
    before = proj.raw_weight.detach().clone()
    train_two_iterations(runner, 'distill.loss_vkd')
    assert not torch.equal(before, proj.raw_weight.detach())


@pytest.mark.parametrize('key,value,message', [
    ('in_channels', 64, r'model\.distiller\.connectors\.vkd_s\.in_channels: 64 given, '
     r'but student recorder "feat" \(model\.architecture\.neck, data_idx 0\) gives 1280 '
     r'channels'),
    ('out_channels', 128, r'model\.distiller\.distill_losses\.loss_vkd \(VKDLoss\) gets '
     r'tensors of different shapes: preds_S \(2, 128\) .*vkd_s\.out_channels=128.*'
     r'preds_T \(2, 256\) = teacher recorder "feat" \(model\.teacher\.neck'),
])
def test_standard_distiller_wrong_width_fails_at_build(tmp_path, teacher_ckpt, key, value,
                                                       message):
    cfg = doc_config(STANDARD, tmp_path)
    with pytest.raises(WidthError, match=message):
        build_model(cfg, teacher_ckpt,
                    **{f'model.distiller.connectors.vkd_s.{key}': value})


def test_vkd_distiller_shufflenetv2_student_trains(tmp_path, teacher_ckpt):
    runner = build_runner(doc_config(COMPACT, tmp_path), tmp_path, teacher_ckpt)
    proj = projector(runner.model, 'vkd0_s_conn')
    assert (proj.in_channels, proj.out_channels) == (1024, 256)
    assert runner.model.distiller.inferred_widths[
        'model.distiller.feature_pairs[0].student_channels'] == 1024
    train_two_iterations(runner, 'distill.loss_vkd0')


def test_vkd_distiller_wrong_width_fails_at_build(tmp_path, teacher_ckpt):
    cfg = doc_config(COMPACT, tmp_path)
    cfg.model.distiller.feature_pairs[0]['student_channels'] = 64
    with pytest.raises(
            ValueError,
            match=r'`feature_pairs\[0\]\.student_channels`=64 but '
            r'"neck" \(model\.architecture\.neck\) gives 1024 channels'):
        build_model(cfg, teacher_ckpt)


def test_dry_run_shape_and_its_errors(tmp_path, teacher_ckpt):
    """An explicit dry-run input is used; one the student refuses is an error naming
    model.distiller.dry_run_shape; without a dry run omitted widths are an error."""
    cfg = doc_config(STANDARD, tmp_path)
    with pytest.raises(
            WidthError,
            match=r'dry run of the teacher \(model\.teacher\) '
            r'fails on an input of shape \(2, 1, 16, 16\).*dry_run_shape'):
        build_model(cfg, teacher_ckpt,
                    **{'model.distiller.dry_run_shape': (2, 1, 16, 16)})
    with pytest.raises(
            WidthError,
            match=r'dry_run_shape is False.*'
            r'model\.distiller\.connectors\.vkd_s'):
        build_model(
            doc_config(STANDARD, tmp_path), teacher_ckpt,
            **{'model.distiller.dry_run_shape': False})
