"""The CIFAR-100 and ImageNet classification configs: the expected distillation pairs
exist, every plain CIFAR-100 config builds and back-propagates, the DeiT VKD configs
hold the reference run's settings. (Two training iterations of each distillation
config: tests/integration/test_classification_configs_train.py.)"""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmpretrain.registry import MODELS

import mmkd_ext  # noqa: F401

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CIFAR_DISTILL = sorted(
    glob.glob(osp.join(REPO, 'configs/vkd/vkd_*_cifar100.py')) +
    glob.glob(osp.join(REPO, 'configs/nckd/nckd_*_cifar100.py')))
CIFAR_PLAIN = sorted(glob.glob(osp.join(REPO, 'configs/cifar100/*.py')))
IMAGENET = sorted(glob.glob(osp.join(REPO, 'configs/vkd/vkd_deit-*_in1k.py')))


def test_expected_configs_exist():
    assert len(CIFAR_DISTILL) == 8 and len(IMAGENET) == 2
    names = ' '.join(map(osp.basename, CIFAR_DISTILL))
    for pair in ('mobilenetv2-0.5x_vgg13', 'mobilenetv2-0.5x_resnet50', 'vgg8_resnet50',
                 'shufflenetv1_resnet32x4', 'shufflenetv2_resnet32x4',
                 'shufflenetv1_wrn-40-2', 'nckd_resnet8x4_resnet32x4',
                 'nckd_wrn-16-2_wrn-40-2'):
        assert pair in names


@pytest.mark.parametrize('config', CIFAR_PLAIN, ids=lambda p: osp.basename(p)[:-3])
def test_cifar_plain_config_builds(config):
    cfg = Config.fromfile(config)
    model = MODELS.build(cfg.model)
    model.train()
    x = torch.randn(2, 3, 32, 32)
    from mmpretrain.structures import DataSample
    losses = model(
        x, [DataSample().set_gt_label(1),
            DataSample().set_gt_label(7)], mode='loss')
    losses['loss'].backward()
    assert cfg.train_cfg.max_epochs == 240 and cfg.param_scheduler.milestones == [
        150, 180, 210
    ]


def test_deit_config_contents():
    tiny = Config.fromfile(
        osp.join(REPO, 'configs/vkd/vkd_deit-tiny-convstem_regnety160_300e_in1k.py'))
    small = Config.fromfile(
        osp.join(REPO, 'configs/vkd/vkd_deit-small-convstem_regnety160_300e_in1k.py'))
    assert tiny.model.architecture.backbone.arch == 'deit-tiny'
    assert small.model.architecture.backbone.arch == 'deit-small'
    for cfg, dim in ((tiny, 192), (small, 384)):
        orth = cfg.model.distiller.connectors.vkd_s.connectors[1]
        # widths come from the models (inferred at build: test_conv_stem_deit.py)
        assert orth.type == 'OrthogonalConnector'
        assert 'in_channels' not in orth and 'out_channels' not in orth
        assert cfg.model.architecture.head.in_channels == dim
        assert cfg.model.distiller.connectors.vkd_s.connectors[0].num_skip_tokens == 2
        assert cfg.optim_wrapper.optimizer.type == 'AdamW'
        assert cfg.param_scheduler.eta_min == 5e-6
        augs = [a.type for a in cfg.model.data_preprocessor.batch_augments.augments]
        assert augs == ['mmpretrain.Mixup', 'mmpretrain.CutMix']
        assert cfg.model.architecture.head.loss.label_smooth_val == 0.1
