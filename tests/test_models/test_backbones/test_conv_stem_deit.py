"""The VKD reference DeiT student (``ConvStemDistilledVisionTransformer``): sizes, FLOPs,
shapes, the mean-pooled distillation token, equality with a timm-based rebuild of the
reference network (weights mapped by the published-checkpoint converter's
``convert_vkd_deit``; the reference module itself is run in
tests/test_tools/test_vkd_published_checkpoints.py), and one training step of the
ImageNet VKD config's model.

Reference: github:roymiles/vkd ``models/deit.py`` (conv stem, ``dist_token =
x_conv.mean(1)``), ``train.py`` (student built without its ``--drop-path``), issue 11.
"""
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmpretrain.registry import MODELS as PRETRAIN_MODELS

import mmkd_ext  # noqa: F401
from mmkd_ext.models.backbones import ConvStemDistilledVisionTransformer
from mmkd_ext.models.backbones.conv_stem_deit import conv_stem_out_size
from mmkd_ext.models.backbones.vkd_deit_weights import convert_vkd_deit

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
STUDENTS = osp.join(REPO, 'configs/_base_/models/deit-distilled_in1k.py')
TINY_CFG = osp.join(REPO, 'configs/vkd/vkd_deit-tiny-convstem_regnety160_300e_in1k.py')
SMALL_CFG = osp.join(REPO, 'configs/vkd/vkd_deit-small-convstem_regnety160_300e_in1k.py')

# (parameters, published GFLOPs) at 224 px with the two 1000-way classifiers
EXPECTED = {'tiny': (6_633_104, 4.50), 'small': (23_797_520, 11.1)}


def _classifier(name):
    students = Config.fromfile(STUDENTS)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return PRETRAIN_MODELS.build(students[name])


def _count(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@pytest.fixture(scope='module')
def students():
    torch.manual_seed(0)
    models = {k: _classifier(f'deit_{k}_convstem') for k in ('tiny', 'small')}
    for m in models.values():
        m.init_weights()
        m.eval()
    return models


def test_parameter_counts(students):
    for arch, model in students.items():
        assert _count(model) == EXPECTED[arch][0], arch
        assert not hasattr(model.backbone, 'dist_token')  # not a learned token
    tiny = students['tiny'].backbone
    stem = sum(p.numel() for p in tiny.patch_embed.parameters())
    # 7x7 3->64, two 3x3 64->64 (no bias), 3 BN(64), 8x8 64->192 with bias
    assert stem == 3 * 64 * 49 + 2 * 64 * 64 * 9 + 3 * 128 + 64 * 64 * 192 + 192
    assert tiny.pos_embed.shape == (1, 14 * 14 + 2, 192)
    # the plain DeiT students of the same file keep their usual sizes
    assert _count(_classifier('deit_tiny_p16')) == 5_910_800


def _attention_macs(inputs, outputs):
    """Multiply-adds of ``softmax(q k^T) v`` (unfused SDPA): 2 * B * h * L * L * d."""
    from mmengine.analysis.jit_handles import get_shape
    b, h, length, d = get_shape(inputs[0])
    return 2 * b * h * length * length * d


def _flops(model):
    """``(multiply-adds per operator, total multiply-adds with the attention products)``
    at 224 px, counted by MMEngine's analyzer (fvcore convention: one multiply-add is
    one "flop"; the fused attention op is not counted unless given a handle)."""
    from mmengine.analysis import FlopAnalyzer

    class Logits(nn.Module):  # the test-time network: backbone + mean of both heads

        def __init__(self, classifier):
            super().__init__()
            self.classifier = classifier

        def forward(self, x):
            return self.classifier(x, mode='tensor')

    x = torch.zeros(1, 3, 224, 224)
    plain = FlopAnalyzer(Logits(model), x)
    plain.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    full = FlopAnalyzer(Logits(model), x)
    full.set_op_handle('aten::scaled_dot_product_attention', _attention_macs)
    full.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    return plain.by_operator(), full.total()


def test_flops_match_the_published_counts(students):
    """The published GFLOPs (4.50 / 11.1) are 2 FLOPs per multiply-add of the
    convolutions and linear layers; the attention products (q k^T, attn v) and the
    norms are not in them."""
    for arch, model in students.items():
        by_op, macs_with_attention = _flops(model)
        assert set(by_op) == {'conv', 'linear', 'batch_norm', 'layer_norm'}, by_op
        published = EXPECTED[arch][1] * 1e9
        assert abs(2 * (by_op['conv'] + by_op['linear']) / published - 1) < 0.01, by_op
        # everything else the analyzer counts (norms) is below 0.5 %
        assert abs(2 * sum(by_op.values()) / published - 1) < 0.01, by_op
        # the attention products the published count leaves out
        dim, tokens = {'tiny': (192, 198), 'small': (384, 198)}[arch]
        assert macs_with_attention - sum(by_op.values()) == \
            12 * 2 * tokens * tokens * dim


def test_forward_shapes(students):
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        for arch, model in students.items():
            dim = 192 if arch == 'tiny' else 384
            cls_token, dist_token = model.backbone(x)[-1]
            assert cls_token.shape == dist_token.shape == (2, dim)
            assert model(x, mode='tensor').shape == (2, 1000)
    assert [conv_stem_out_size(s) for s in (224, 32, 40, 15, 17)] == [14, 2, 2, 1, 1]


@pytest.mark.parametrize('out_type,shape', [('raw', (2, 2 + 6 * 4, 16)),
                                            ('featmap', (2, 16, 6, 4)),
                                            ('avg_featmap', (2, 16))])
def test_other_outputs_and_sizes(out_type, shape):
    arch = dict(embed_dims=16, num_layers=2, num_heads=2, feedforward_channels=32)
    vit = ConvStemDistilledVisionTransformer(
        arch=arch, img_size=(96, 64), stem_channels=8, out_type=out_type)
    vit.init_weights()
    assert vit(torch.randn(2, 3, 96, 64))[-1].shape == shape


def test_frozen_stages_freeze_the_stem():
    arch = dict(embed_dims=16, num_layers=2, num_heads=2, feedforward_channels=32)
    vit = ConvStemDistilledVisionTransformer(arch=arch, img_size=32, frozen_stages=1)
    assert not any(p.requires_grad for p in vit.patch_embed.parameters())
    assert not vit.pos_embed.requires_grad and not vit.cls_token.requires_grad
    assert all(p.requires_grad for p in vit.layers[1].parameters())
    vit.train()
    assert not vit.patch_embed.stem[0].bn.training and vit.layers[1].training


def test_bad_arguments():
    for kwargs in (dict(patch_size=8), dict(with_cls_token=False), dict(img_size=8)):
        with pytest.raises(ValueError, match='ConvStem'):
            ConvStemDistilledVisionTransformer(arch='deit-tiny', **kwargs)


def test_distillation_token_is_the_mean_of_the_patch_embeddings():
    torch.manual_seed(0)
    arch = dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64)
    vit = ConvStemDistilledVisionTransformer(arch=arch, img_size=64, out_type='raw')
    vit.init_weights()
    vit.eval()
    seen = {}
    vit.patch_embed.register_forward_hook(
        lambda m, i, o: seen.__setitem__('patches', o[0]))
    vit.layers[0].register_forward_pre_hook(lambda m, i: seen.__setitem__('tokens', i[0]))
    x = torch.randn(3, 3, 64, 64)
    with torch.no_grad():
        vit(x)
    patches, tokens = seen['patches'], seen['tokens'] - vit.pos_embed
    assert patches.shape == (3, 16, 32)
    torch.testing.assert_close(tokens[:, 1], patches.mean(dim=1))
    torch.testing.assert_close(tokens[:, 2:], patches)
    torch.testing.assert_close(tokens[:, 0], vit.cls_token[:, 0].expand(3, -1))
    # it follows the image (a learned token would not)
    with torch.no_grad():
        vit(x.flip(0))
    torch.testing.assert_close(seen['tokens'][:, 1] - vit.pos_embed[:, 1],
                               patches.mean(dim=1).flip(0))


def test_drop_path_is_zero_as_in_the_reference():
    for path in (TINY_CFG, SMALL_CFG):
        backbone = Config.fromfile(path).model.architecture.backbone
        assert backbone.type == 'ConvStemDistilledVisionTransformer'
        assert backbone.drop_path_rate == 0.0
        assert backbone.get('drop_rate', 0.0) == 0.0


# -- equality with the reference network, rebuilt on timm's VisionTransformer ----------
class _ReferenceStem(nn.Module):
    """The reference ``conv_embed`` (same layer order and names: ``conv.{0..8}``,
    ``proj``), written from its description."""

    def __init__(self, dim, width):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(3, width, 7, 2, 3, bias=False), nn.BatchNorm2d(width),
            nn.ReLU(True), nn.Conv2d(width, width, 3, 1, 1, bias=False),
            nn.BatchNorm2d(width), nn.ReLU(True),
            nn.Conv2d(width, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width),
            nn.ReLU(True))
        self.proj = nn.Conv2d(width, dim, 8, 8)


def _reference_logits(vit, stem, head_dist, pos_embed, x):
    """The reference forward: cls, mean of the stem tokens, stem tokens; + pos; timm
    blocks; final norm; ``(head(cls) + head_dist(dist)) / 2`` at test time."""
    p = stem.proj(stem.conv(x)).flatten(2).transpose(1, 2)
    t = torch.cat([vit.cls_token.expand(x.shape[0], -1, -1),
                   p.mean(1, keepdim=True), p],
                  dim=1) + pos_embed
    for blk in vit.blocks:
        t = blk(t)
    t = vit.norm(t)
    return (vit.head(t[:, 0]) + head_dist(t[:, 1])) / 2, t[:, 2:]


def test_equals_the_reference_network():
    timm = pytest.importorskip('timm')
    from functools import partial
    torch.manual_seed(0)
    dim, depth, heads, classes, width = 48, 2, 3, 10, 16
    vit = timm.models.vision_transformer.VisionTransformer(
        img_size=64,
        patch_size=16,
        embed_dim=dim,
        depth=depth,
        num_heads=heads,
        mlp_ratio=4,
        qkv_bias=True,
        num_classes=classes,
        norm_layer=partial(nn.LayerNorm, eps=1e-6)).eval()
    stem = _ReferenceStem(dim, width).eval()
    head_dist = nn.Linear(dim, classes)
    pos_embed = nn.Parameter(torch.randn(1, 16 + 2, dim) * 0.02)
    with torch.no_grad():  # non-trivial BN statistics and tokens
        for m in stem.conv:
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.1, 0.1)
        vit.cls_token.normal_()
    ref_state = {
        k: v
        for k, v in vit.state_dict().items()
        if not k.startswith('patch_embed.') and k != 'pos_embed'
    }
    ref_state.update({f'conv_embed.{k}': v for k, v in stem.state_dict().items()})
    ref_state.update({f'head_dist.{k}': v for k, v in head_dist.state_dict().items()})
    ref_state['pos_embed'] = pos_embed.data

    ours = PRETRAIN_MODELS.build(
        dict(
            type='ImageClassifier',
            backbone=dict(
                type='ConvStemDistilledVisionTransformer',
                arch=dict(
                    embed_dims=dim,
                    num_layers=depth,
                    num_heads=heads,
                    feedforward_channels=4 * dim),
                img_size=64,
                stem_channels=width),
            head=dict(type='DeiTDistillClsHead', num_classes=classes, in_channels=dim)))
    converted, dropped = convert_vkd_deit(ref_state)  # the converter's mapping
    assert not dropped
    own = ours.state_dict()
    assert set(converted) == set(own)
    assert all(converted[k].shape == own[k].shape for k in own)
    ours.load_state_dict(converted, strict=True)
    ours.eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected, _ = _reference_logits(vit, stem, head_dist, pos_embed, x)
        got = ours(x, mode='tensor')
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


# -- the ImageNet VKD config's model: one training step on tiny inputs -----------------
def test_config_model_trains_one_step():
    from mmengine.optim import build_optim_wrapper
    from mmpretrain.structures import DataSample
    from mmrazor.registry import MODELS as RAZOR_MODELS

    cfg = Config.fromfile(TINY_CFG)
    cfg.model.teacher_ckpt = None  # random teacher: strict loading is tested elsewhere
    cfg.model.architecture.backbone.img_size = 32
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmrazor'):
        model = RAZOR_MODELS.build(cfg.model)
        model.init_weights()
        optim = build_optim_wrapper(model, cfg.optim_wrapper)
    student = model.architecture
    assert _count(student) == 6_633_104 - (198 - 6) * 192  # grid 14x14 -> 2x2
    proj = model.distiller.connectors['vkd_s'].connectors[1]  # widths inferred
    assert (proj.in_channels, proj.out_channels) == (192, 3024)
    decay = {
        id(p): g['weight_decay']
        for g in optim.optimizer.param_groups
        for p in g['params']
    }
    backbone = student.backbone
    assert decay[id(backbone.cls_token)] == decay[id(backbone.pos_embed)] == 0
    assert decay[id(backbone.patch_embed.stem[0].bn.weight)] == 0
    assert decay[id(backbone.patch_embed.stem[0].conv.weight)] == 0.05

    model.train()
    data = dict(
        inputs=[torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8) for _ in range(2)],
        data_samples=[DataSample().set_gt_label(3),
                      DataSample().set_gt_label(997)])
    before = backbone.patch_embed.stem[0].conv.weight.detach().clone()
    log = model.train_step(data, optim)
    keys = set(log)
    assert {'loss'} <= keys and any('loss_vkd' in k for k in keys) \
        and any('loss_kl' in k for k in keys), keys
    assert all(torch.isfinite(v).all() for v in log.values())
    assert not torch.equal(before, backbone.patch_embed.stem[0].conv.weight)


@pytest.mark.parametrize('stride,size,grid', [(16, 64, 4), (8, 32, 4), (4, 16, 4),
                                              (4, 17, 4), (16, 224, 14)])
def test_stem_stride_sets_the_token_grid(stride, size, grid):
    """``stem_stride`` (16 = the reference, 8, 4) is the stem's total stride: the
    projection kernel / stride is half of it; the position embedding follows the grid."""
    assert conv_stem_out_size(size, stride) == grid
    net = ConvStemDistilledVisionTransformer(
        arch=dict(embed_dims=32, num_layers=1, num_heads=2, feedforward_channels=64),
        img_size=size,
        stem_channels=8,
        stem_stride=stride)
    assert net.patch_resolution == (grid, grid)
    assert net.pos_embed.shape == (1, grid * grid + 2, 32)
    cls, dist = net(torch.randn(2, 3, size, size))[-1]
    assert cls.shape == dist.shape == (2, 32)


def test_stem_stride_bad_value_is_named():
    from mmkd_ext.models.backbones.conv_stem_deit import \
        ConvStemDistilledVisionTransformer
    with pytest.raises(ValueError, match='stem_stride must be one of'):
        ConvStemDistilledVisionTransformer(arch='deit-tiny', img_size=32, stem_stride=2)
