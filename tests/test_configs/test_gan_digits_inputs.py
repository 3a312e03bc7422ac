"""The digits GAN configs feed their frozen digits classifiers (the VKD teacher and the
FID feature extractor) the inputs those classifiers were trained on: 16x16 digits
normalised with the classification configs' mean / std. The 32x32 configs resize
first; at 16x16 nothing is resized."""
import os.path as osp

import pytest
import torch

from mmkd_ext.datasets.digits import load_digits_arrays
from mmkd_ext.evaluation.gan_feature_extractors import images_to_unit_range

CONFIGS = (
    'configs/vkd/vkd_biggan-diffaug_resnet18-w32_3k_digits-10pct.py',
    'configs/vkd/vkd_biggan-diffaug-ch16_resnet18-w32_0.5k_digits-16px-10pct.py',
)
CLASSIFIER_DATA = 'configs/_base_/datasets/digits_bs32.py'


def _classifier_inputs(repo_root):
    """What the digits classifiers saw in training: their data preprocessor on the
    16x16 digits."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(repo_root, CLASSIFIER_DATA))
    imgs, _ = load_digits_arrays(cfg.img_size)
    x = torch.from_numpy(imgs[:64]).permute(0, 3, 1, 2).float()
    mean = torch.tensor(cfg.data_preprocessor.mean).view(1, 3, 1, 1)
    std = torch.tensor(cfg.data_preprocessor.std).view(1, 3, 1, 1)
    return (x - mean) / std


def _seen_by(module, images):
    """The tensor that reaches the classifier's backbone when ``module`` (a frozen
    encoder built from a config) gets ``images`` in [-1, 1]."""
    inner = module.backbone
    target = getattr(inner, 'backbone', inner)
    seen = {}
    handle = target.register_forward_pre_hook(lambda m, args: seen.update(x=args[0]))
    module(images)
    handle.remove()
    return seen['x']


@pytest.mark.parametrize('config', CONFIGS)
def test_teacher_and_fid_classifier_see_their_training_inputs(repo_root, config):
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    import mmkd_ext  # noqa: F401
    from mmkd_ext.registry import MODELS
    cfg = Config.fromfile(osp.join(repo_root, config))
    size = cfg.train_dataloader.dataset.img_size
    imgs, _ = load_digits_arrays(size)
    images = images_to_unit_range(torch.from_numpy(imgs[:64]).permute(0, 3, 1, 2))
    expected = _classifier_inputs(repo_root)
    parts = {
        'model.teacher':
        dict(cfg.model.teacher, checkpoint=None),
        'val_evaluator.feature_extractor':
        dict(cfg.val_evaluator.feature_extractor, checkpoint=None),
    }
    for key, part in parts.items():
        with DefaultScope.overwrite_default_scope('mmkd_ext'):
            module = MODELS.build(part)
        x = _seen_by(module, images)
        assert x.shape == expected.shape, f'{config}: {key} gets {tuple(x.shape)}'
        # the same statistics as in training (a wrong mean / std shifts these by
        # 0.5 or more) and nearly the same pixels (32 -> 16 resizing vs 8 -> 16)
        assert abs(float(x.mean() - expected.mean())) < 0.02, (config, key)
        assert abs(float(x.std() / expected.std()) - 1) < 0.05, (config, key)
        assert float((x - expected).abs().mean()) < 0.1, (config, key)
