"""The digits DeiT configs of the VKD Table 6 study (tools/benchmark/digits_deit.py):
the ImageNet conv-stem DeiT VKD config with only data, size, depth / width, teacher and
schedule changed, and the five arms as variants."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

import mmkd_ext  # noqa: F401

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
LEAF = 'configs/vkd/vkd_deit-tiny-convstem-mini_resnet18-w32_20e_digits-16px'
IMAGENET = 'configs/vkd/vkd_deit-tiny-convstem_regnety160_300e_in1k.py'
ARMS = ['', '_orth-nonorm', '_linear-std', '_linear-nonorm', '_distill-token']


def cfg_of(suffix=''):
    return Config.fromfile(osp.join(REPO, f'{LEAF}{suffix}.py'))


def build(cfg, razor_build):
    cfg.model.teacher_ckpt = None
    return razor_build(cfg.model)


def test_changes_from_the_imagenet_config_are_the_stated_ones():
    """Same losses, connectors, student type, recipe; data / sizes / teacher differ."""
    a, b = cfg_of(), Config.fromfile(osp.join(REPO, IMAGENET))
    da, db = a.model.distiller, b.model.distiller
    assert da.distill_losses == db.distill_losses
    assert da.connectors == db.connectors
    assert da.student_recorders == db.student_recorders
    assert a.model.architecture.backbone.type == b.model.architecture.backbone.type
    assert a.model.architecture.head.type == b.model.architecture.head.type
    augments = a.model.data_preprocessor.batch_augments
    assert augments == b.model.data_preprocessor.batch_augments
    assert a.optim_wrapper == b.optim_wrapper
    assert a.train_cfg.max_epochs == 20 and a.param_scheduler.T_max == 20
    assert a.model.teacher_input_size == (16, 16)


@pytest.mark.parametrize('suffix', ARMS)
def test_arm_builds_with_inferred_widths(suffix, razor_build):
    model = build(cfg_of(suffix), razor_build)
    x = torch.randn(2, 3, 16, 16)
    feats = model.architecture.backbone(x)
    assert feats[-1][0].shape == (2, 64)  # (class token, distillation token), 64-d
    assert model.architecture.backbone.patch_resolution == (4, 4)  # 16 patch tokens
    conns = model.distiller.connectors
    if suffix == '_distill-token':
        assert len(conns) == 0 and set(model.distiller.distill_losses) == {'loss_kl'}
        return
    proj = conns['vkd_s'].connectors[1] if hasattr(conns['vkd_s'], 'connectors') \
        else conns['vkd_s'][1]
    assert type(proj).__name__ == ('LinearConnector'
                                   if 'linear' in suffix else 'OrthogonalConnector')
    assert (proj.in_channels, proj.out_channels) == (64, 256)


def test_teacher_sees_16px(razor_build):
    """The digits teacher was trained at 16 px: it gets 16 px, also when the student's
    images are made larger (``teacher_input_size``)."""
    model = build(cfg_of(), razor_build)
    seen = []
    model.teacher.backbone.register_forward_pre_hook(lambda m, a: seen.append(a[0].shape))
    model.teacher(torch.randn(3, 3, 16, 16), None, mode='tensor')
    model.teacher(torch.randn(3, 3, 32, 32), None, mode='tensor')
    assert seen == [torch.Size([3, 3, 16, 16])] * 2


def test_stem_stride_4_gives_16_tokens_at_16px(razor_build):
    """The one architectural change besides depth / width: the stem's total stride
    (4: 7x7 stride-2 conv, 2x2 stride-2 projection), so 16 px digits give 4 x 4 tokens;
    the ImageNet config keeps the reference's stride 16 (8x8 projection)."""
    stem = build(cfg_of(), razor_build).architecture.backbone.patch_embed
    assert stem.projection.kernel_size == (2, 2) and stem.projection.stride == (2, 2)
    tokens, hw = stem(torch.randn(2, 3, 16, 16))
    assert hw == (4, 4) and tokens.shape == (2, 16, 64)
    imagenet = Config.fromfile(osp.join(REPO, IMAGENET))
    assert imagenet.model.architecture.backbone.get('stem_stride', 16) == 16


def test_student_alone_is_the_same_student(razor_build):
    alone = cfg_of('_student-alone')
    assert alone.default_scope == 'mmpretrain'
    assert alone.model.type == 'ImageClassifier'
    assert alone.model.backbone == cfg_of().model.architecture.backbone
    from mmpretrain.registry import MODELS
    model = MODELS.build(alone.model)
    assert model.backbone.patch_resolution == (4, 4)
