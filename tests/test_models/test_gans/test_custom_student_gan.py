"""Bring your own student, GAN discriminator distillation: the worked example of
docs/custom_student.md (the digits VKD BigGAN config with a narrower discriminator and a
smaller distillation head; no width written) infers student_dim / teacher_dim, builds
the connector for them and trains 2 iterations through MMEngine's Runner; a wrong
explicit width fails while the GAN is built, naming the key and both widths."""
import math
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

import mmkd_ext  # noqa: F401

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


def save_random(cfg_dict, path, seed):
    from mmpretrain.registry import MODELS
    torch.manual_seed(seed)
    cfg = dict(cfg_dict)
    cfg.pop('_scope_', None)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        torch.save({'state_dict': MODELS.build(cfg).state_dict()}, path)


@pytest.fixture
def example(doc_example, tmp_path):
    """The example of docs/custom_student.md, as a config file in tmp_path."""
    return doc_example('custom_student.md', EXAMPLE, tmp_path)


def tiny_config(example, **options):
    tmp_path = Path(example).parent
    cfg = Config.fromfile(example)
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


def build_runner(example, **options):
    cfg = tiny_config(example, **options)
    cfg.work_dir = str(Path(example).parent / 'work')
    with DefaultScope.overwrite_default_scope(cfg.default_scope):  # no scope leak
        return Runner.from_cfg(cfg)


def build_model(example, **options):
    """What Runner.from_cfg does first: build the model (the GAN) from cfg.model."""
    from mmkd_ext.registry import MODELS
    cfg = tiny_config(example, **options)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        return MODELS.build(cfg.model)


def test_narrower_discriminator_trains(example):
    runner = build_runner(example)
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
def test_wrong_width_fails_at_build(example, key, value, message):
    with pytest.raises(ValueError, match=message):
        build_model(example, **{key: value})


def test_regression_baseline_needs_equal_widths(example):
    with pytest.raises(
            ValueError,
            match=r'model\.distill\.connector is None but the '
            r'student \(D head\) gives 128 and the teacher 32.*'
            r'distill_dims\[-1\]=32'):
        build_model(example, **{'model.distill.connector': None})
