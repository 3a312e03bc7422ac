"""CIFAR-100 CRD-benchmark backbones: the state-dict names, order and shapes, and the
parameter count, equal the public checkpoint layouts (vendored in
tests/data/checkpoint_layouts/cifar100); output shapes; the strict loader (RepDistiller
layout round trip, clear errors). The converter tool: tests/test_tools; the teacher
loading of StrictTeacherDistill: tests/test_models/test_distillers."""
import os.path as osp
import re
from collections import OrderedDict

import pytest
import torch
from mmpretrain.registry import MODELS

import mmkd_ext  # noqa: F401
from mmkd_ext.models.backbones.cifar_weights import CIFAR_ZOO
from mmkd_ext.models.utils.checkpoint import CheckpointError, unwrap_state_dict
from mmkd_ext.models.utils.classifier_ckpt import load_classifier_checkpoint

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
# the public RepDistiller / mdistiller layouts (tests/data/checkpoint_layouts/cifar100)
LAYOUTS = osp.join(REPO, 'tests', 'data', 'checkpoint_layouts', 'cifar100')
# output map (C, H, W) for a 32x32 input
OUT_SHAPES = {
    **dict.fromkeys(('resnet8x4', 'resnet32x4'), (256, 8, 8)),
    **dict.fromkeys(('resnet56', 'resnet110'), (64, 8, 8)),
    **dict.fromkeys(('wrn_16_2', 'wrn_40_2'), (128, 8, 8)),
    **dict.fromkeys(('vgg8_bn', 'vgg13_bn'), (512, 4, 4)),
    'ResNet50': (2048, 4, 4),
    'mobile_half': (1280, 2, 2),
    'ShuffleV1': (960, 4, 4),
    'ShuffleV2': (1024, 4, 4),
}


def read_layout(name):
    with open(osp.join(LAYOUTS, f'{name}.txt')) as f:
        lines = f.read().splitlines()
    total = int(re.search(r'([0-9]+) parameters', lines[0]).group(1))
    entries = OrderedDict()
    for line in lines[1:]:
        key, shape = line.split(' (')
        entries[key] = tuple(int(s) for s in shape.rstrip(')').split(',') if s.strip())
    return total, entries


def test_zoo_covers_every_layout_file():
    files = {f[:-4] for f in __import__('os').listdir(LAYOUTS) if f.endswith('.txt')}
    assert files == set(CIFAR_ZOO)


@pytest.mark.parametrize('name', sorted(CIFAR_ZOO))
def test_backbone_matches_public_layout(name, cifar_classifier, repdistiller_state_dict):
    total, layout = read_layout(name)
    backbone_cfg, clf_name, dim = CIFAR_ZOO[name]
    model = cifar_classifier(name)
    ours = repdistiller_state_dict(model, clf_name)
    assert list(ours) == list(layout)  # same names, same order
    assert {k: tuple(v.shape) for k, v in ours.items()} == dict(layout)
    assert sum(p.numel() for p in model.parameters()) == total
    model.eval()
    with torch.no_grad():
        feats = model.backbone(torch.randn(2, 3, 32, 32))
        logits = model(torch.randn(2, 3, 32, 32))
    assert len(feats) == 1 and tuple(feats[-1].shape) == (2, *OUT_SHAPES[name])
    assert OUT_SHAPES[name][0] == dim and logits.shape == (2, 100)


def test_published_sizes(cifar_classifier):
    # the sizes quoted for the benchmark (backbone + 100-way classifier)
    sizes = {
        n: sum(p.numel() for p in cifar_classifier(n).parameters()) / 1e6
        for n in ('resnet8x4', 'resnet32x4', 'wrn_40_2')
    }
    assert round(sizes['resnet8x4'], 1) == 1.2
    assert round(sizes['resnet32x4'], 1) == 7.4
    assert round(sizes['wrn_40_2'], 1) == 2.3  # 2.26M (the papers round it to 2.2)


def test_out_indices_and_bad_args():
    bb = MODELS.build(dict(type='CIFARResNet', arch='resnet8x4', out_indices=(0, 1, 2)))
    shapes = [tuple(f.shape) for f in bb(torch.randn(1, 3, 32, 32))]
    assert shapes == [(1, 64, 32, 32), (1, 128, 16, 16), (1, 256, 8, 8)]
    with pytest.raises(ValueError, match='arch must be one of'):
        MODELS.build(dict(type='CIFARResNet', arch='resnet9'))
    with pytest.raises(ValueError, match='out_indices entry 3'):
        MODELS.build(dict(type='CIFARWideResNet', out_indices=(3, )))
    with pytest.raises(ValueError, match='depth must be 6n'):
        MODELS.build(dict(type='CIFARWideResNet', depth=41))


@pytest.mark.parametrize('name', ['resnet8x4', 'mobile_half', 'vgg8_bn'])
def test_repdistiller_checkpoint_round_trip(tmp_path, name, cifar_classifier,
                                            repdistiller_state_dict):
    _, clf_name, _ = CIFAR_ZOO[name]
    src = cifar_classifier(name)
    with torch.no_grad():  # make BN statistics non-trivial
        for m in src.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-1, 1)
                m.running_var.uniform_(0.5, 2)
    path = tmp_path / f'{name}.pth'
    torch.save(
        {
            'model': repdistiller_state_dict(src, clf_name),
            'epoch': 240,
            'best_acc': 73.1
        }, path)
    dst = cifar_classifier(name)
    layout = load_classifier_checkpoint(dst, str(path), key_hint='model.teacher_ckpt')
    assert layout.startswith('cifar')
    for (k, a), b in zip(src.state_dict().items(), dst.state_dict().values()):
        assert torch.equal(a, b), k
    src.eval(), dst.eval()
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(src(x), dst(x))


def test_wrong_checkpoint_gives_clear_errors(tmp_path, cifar_classifier,
                                             repdistiller_state_dict):
    small = cifar_classifier('resnet8x4')
    path = tmp_path / 'resnet8x4.pth'
    torch.save({'model': repdistiller_state_dict(small, 'fc')}, path)
    with pytest.raises(CheckpointError) as err:  # wrong architecture
        load_classifier_checkpoint(
            cifar_classifier('resnet32x4'), str(path), key_hint='model.teacher_ckpt')
    msg = str(err.value)
    assert 'model.teacher_ckpt' in msg and str(path) in msg
    assert 'missing key(s)' in msg and 'backbone.layer1.1.conv1.weight' in msg
    with pytest.raises(
            CheckpointError,
            match=r'shape mismatch.*head\.fc\.weight: file '
            r'\(100, 256\) vs model \(10, 256\)'):
        load_classifier_checkpoint(
            cifar_classifier('resnet8x4', num_classes=10), str(path))
    torch.save({'optimizer': {}, 'epoch': 3}, tmp_path / 'bad.pth')
    with pytest.raises(CheckpointError, match='holds no state dict'):
        load_classifier_checkpoint(small, str(tmp_path / 'bad.pth'))
    with pytest.raises(CheckpointError, match='model.teacher_ckpt'):
        load_classifier_checkpoint(
            small, str(tmp_path / 'nope.pth'), key_hint='model.teacher_ckpt')
    with pytest.raises(CheckpointError):
        unwrap_state_dict([1, 2])
