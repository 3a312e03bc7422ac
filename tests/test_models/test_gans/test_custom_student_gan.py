"""Bring your own student, GAN discriminator distillation: the worked example of
docs/custom_student.md (the digits VKD BigGAN config with a narrower discriminator and a
smaller distillation head; no width written) infers student_dim / teacher_dim, builds
the connector for them and trains 2 iterations through MMEngine's Runner; a wrong
explicit width fails while the GAN is built, naming the key and both widths."""
import math
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

import mmkd_ext  # noqa: F401

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
DOC = osp.join(REPO, 'docs', 'custom_student.md')
EXAMPLE = 'vkd_biggan-diffaug-d32_resnet18-w32_3k_digits-10pct.py'
TINY = {  # CPU-sized: 16x16 images, small G, width-4 teacher / metric classifier
    'model.teacher.backbone.backbone.stem_channels': 4,
    'model.teacher.backbone.backbone.base_channels': 4,
    'model.teacher.backbone.head.in_channels': 32,
    'val_evaluator.feature_extractor.model.backbone.stem_channels': 4,
    'val_evaluator.feature_extractor.model.backbone.base_channels': 4,
    'val_evaluator.feature_extractor.model.head.in_channels': 32,
    'model.generator.ch': 16, 'model.generator.num_blocks': 2,
    'model.discriminator.num_blocks': 3,
    'train_dataloader.dataset.img_size': 16, 'val_evaluator.real_dataset.img_size': 16,
    'train_dataloader.batch_size': 8, 'train_cfg.max_iters': 2,
    'train_cfg.val_interval': 1000, 'default_hooks.checkpoint.interval': 1000,
    'default_hooks.logger.interval': 1, 'custom_hooks.0.interval': 1000,
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


def save_random(cfg_dict, path, seed):
    from mmpretrain.registry import MODELS
    torch.manual_seed(seed)
    cfg = dict(cfg_dict)
    cfg.pop('_scope_', None)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        torch.save({'state_dict': MODELS.build(cfg).state_dict()}, path)


def tiny_config(tmp_path, **options):
    cfg = doc_config(EXAMPLE, tmp_path)
    cfg.merge_from_dict(TINY)
    teacher, clf = tmp_path / 'teacher.pth', tmp_path / 'clf.pth'
    save_random(cfg.model.teacher.backbone, teacher, 0)
    save_random(cfg.val_evaluator.feature_extractor.model, clf, 1)
    cfg.merge_from_dict({
        'model.teacher.checkpoint': str(teacher),
        'val_evaluator.feature_extractor.checkpoint': str(clf),
        **options
    })
    return cfg


def build_runner(tmp_path, **options):
    cfg = tiny_config(tmp_path, **options)
    cfg.work_dir = str(tmp_path / 'work')
    with DefaultScope.overwrite_default_scope(cfg.default_scope):  # no scope leak
        return Runner.from_cfg(cfg)


def build_model(tmp_path, **options):
    """What Runner.from_cfg does first: build the model (the GAN) from cfg.model."""
    from mmkd_ext.registry import MODELS
    cfg = tiny_config(tmp_path, **options)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        return MODELS.build(cfg.model)


def test_narrower_discriminator_trains(tmp_path):
    runner = build_runner(tmp_path)
    gan = runner.model
    kd = gan.distill
    assert (kd.student_dim, kd.teacher_dim) == (128, 32)  # D head 256 -> 128, teacher
    assert (kd.connector.in_channels, kd.connector.out_channels) == (128, 32)
    assert kd.normalizer.num_features == 32
    before = kd.connector.raw_weight.detach().clone()
    with DefaultScope.overwrite_default_scope('mmkd_ext'):
        runner.train()
    assert runner.iter == 2
    for key in ('loss_kd_real', 'loss_kd_fake'):
        assert math.isfinite(runner.message_hub.get_scalar(f'train/{key}').current())
    # the connector was built with the GAN, so D's optimizer trains it
    assert not torch.equal(before, kd.connector.raw_weight.detach())


@pytest.mark.parametrize('key,value,message', [
    ('model.distill.student_dim', 512,
     r"model\.distill\.student_dim: 512 given, but model\.discriminator's distillation "
     r'head \(distill_dims\[-1\]\) gives 128-d embeddings'),
    ('model.distill.teacher_dim', 256,
     r'model\.distill\.teacher_dim: 256 given, but model\.teacher gives 32-d'),
])
def test_wrong_width_fails_at_build(tmp_path, key, value, message):
    with pytest.raises(ValueError, match=message):
        build_model(tmp_path, **{key: value})


def test_regression_baseline_needs_equal_widths(tmp_path):
    with pytest.raises(
            ValueError,
            match=r'model\.distill\.connector is None but the '
            r'student \(D head\) gives 128 and the teacher 32.*'
            r'distill_dims\[-1\]=32'):
        build_model(tmp_path, **{'model.distill.connector': None})
