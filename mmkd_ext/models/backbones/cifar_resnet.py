"""CIFAR ResNets of the CRD knowledge-distillation benchmark (MMPretrain backbones).

Two families, with exactly the parameter names and shapes of the widely shared CIFAR-100
checkpoints (RepDistiller / mdistiller), so those files load without renaming (see
:mod:`mmkd_ext.models.backbones.cifar_weights` and
``tests/data/checkpoint_layouts/cifar100``):

* :class:`CIFARResNet`: three stages of basic blocks on a 3x3 stem (He et al. 2016,
  section 4.2: depth = 6n + 2); ``resnet56`` / ``resnet110`` with widths 16-32-64, and the
  "x4" variants ``resnet8x4`` / ``resnet32x4`` with widths 64-128-256 after a 32-wide
  stem.
  Input (N, 3, 32, 32) -> last stage (N, C, 8, 8).
* :class:`CIFARResNetV2`: the ImageNet ResNet layout (four stages, bottleneck blocks for
  ``resnet50``) with a stride-1 3x3 stem and no max-pool.
  (N, 3, 32, 32) -> (N, 2048, 4, 4).

The classifier (``fc`` / ``linear`` in those checkpoints) is not part of the backbone: it
is the ``fc`` of an MMPretrain ``LinearClsHead`` after ``GlobalAveragePooling``.
"""
from typing import Sequence

import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.backbones.base_backbone import BaseBackbone
from mmpretrain.registry import MODELS

#: Conv init of the reference models (Kaiming normal, fan-out) and unit BatchNorm.
CIFAR_INIT_CFG = [
    dict(type='Kaiming', layer='Conv2d', mode='fan_out', nonlinearity='relu'),
    dict(type='Constant', val=1, bias=0, layer=['_BatchNorm', 'GroupNorm']),
]


def check_out_indices(out_indices, num_stages, name):
    """Normalise ``out_indices`` (negative indices allowed) or raise ValueError."""
    if isinstance(out_indices, int):
        out_indices = (out_indices, )
    if not isinstance(out_indices, Sequence) or len(out_indices) == 0:
        raise TypeError(f'{name}: out_indices must be an int or a non-empty '
                        f'sequence of ints, got {out_indices!r}')
    result = []
    for i in out_indices:
        j = i + num_stages if i < 0 else i
        if not 0 <= j < num_stages:
            raise ValueError(f'{name}: out_indices entry {i} is out of range for '
                             f'{num_stages} stages')
        result.append(j)
    return tuple(result)


def pick_setting(settings, value, name, key='arch'):
    """``settings[value]``, or a ValueError naming ``name``'s ``key`` and the choices."""
    if value not in settings:
        raise ValueError(f'{name}: {key} must be one of {sorted(settings)}, got '
                         f'{value!r}')
    return settings[value]


def stem_and_stages(backbone, x, num_stages):
    """``x`` through the stem (``conv1``, ``bn1``, ReLU) and ``layer1..layerN``;
    returns the last feature and the list of the stage outputs in ``out_indices``."""
    x = F.relu(backbone.bn1(backbone.conv1(x)), inplace=True)
    outs = []
    for i in range(num_stages):
        x = getattr(backbone, f'layer{i + 1}')(x)
        if i in backbone.out_indices:
            outs.append(x)
    return x, outs


class BasicBlock(nn.Module):
    """conv3x3-BN-ReLU-conv3x3-BN + identity (or 1x1 conv-BN ``downsample``), ReLU."""
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = F.relu(self.bn1(self.conv1(x)), inplace=True)
        out = self.bn2(self.conv2(out))
        return F.relu(out + identity, inplace=True)


@MODELS.register_module()
class CIFARResNet(BaseBackbone):
    """Three-stage CIFAR ResNet with basic blocks (depth = 6n + 2).

    Args:
        arch (str): ``'resnet8'``, ``'resnet14'``, ``'resnet20'``, ``'resnet32'``,
            ``'resnet44'``, ``'resnet56'``, ``'resnet110'`` (widths 16-16-32-64) or
            ``'resnet8x4'``, ``'resnet32x4'`` (widths 32-64-128-256).
        out_indices (int | Sequence[int]): stages to return (0..2). Defaults to -1.
        init_cfg: MMEngine init config. Defaults to :data:`CIFAR_INIT_CFG`.

    Shapes: (N, 3, H, W) -> tuple of (N, C_i, H / 2^i, W / 2^i); the last stage of
    ``resnet32x4`` on 32x32 inputs is (N, 256, 8, 8).
    """
    arch_settings = {
        **{
            f'resnet{d}': (d, (16, 16, 32, 64))
            for d in (8, 14, 20, 32, 44, 56, 110)
        },
        'resnet8x4': (8, (32, 64, 128, 256)),
        'resnet32x4': (32, (32, 64, 128, 256)),
    }

    def __init__(self, arch='resnet56', out_indices=-1, init_cfg=CIFAR_INIT_CFG):
        super().__init__(init_cfg)
        depth, widths = pick_setting(self.arch_settings, arch, 'CIFARResNet')
        self.arch = arch
        self.out_indices = check_out_indices(out_indices, 3, 'CIFARResNet')
        num_blocks = (depth - 2) // 6
        self.inplanes = widths[0]
        self.conv1 = nn.Conv2d(3, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.layer1 = self._make_layer(widths[1], num_blocks, 1)
        self.layer2 = self._make_layer(widths[2], num_blocks, 2)
        self.layer3 = self._make_layer(widths[3], num_blocks, 2)
        self.out_channels = widths[3]

    def _make_layer(self, planes, num_blocks, stride):
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes, 1, stride, bias=False),
                nn.BatchNorm2d(planes))
        blocks = [BasicBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes
        blocks += [BasicBlock(planes, planes) for _ in range(1, num_blocks)]
        return nn.Sequential(*blocks)

    def forward(self, x):
        return tuple(stem_and_stages(self, x, 3)[1])


class BasicBlockV2(nn.Module):
    """Basic block of :class:`CIFARResNetV2` (projection shortcut named ``shortcut``)."""
    expansion = 1

    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = _shortcut(in_planes, planes, stride)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)), inplace=True)
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x), inplace=True)


class BottleneckV2(nn.Module):
    """1x1-3x3-1x1 bottleneck (x4 expansion) of :class:`CIFARResNetV2`."""
    expansion = 4

    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        out_planes = planes * self.expansion
        self.conv1 = nn.Conv2d(in_planes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out_planes, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_planes)
        self.shortcut = _shortcut(in_planes, out_planes, stride)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)), inplace=True)
        out = F.relu(self.bn2(self.conv2(out)), inplace=True)
        out = self.bn3(self.conv3(out))
        return F.relu(out + self.shortcut(x), inplace=True)


def _shortcut(in_planes, out_planes, stride):
    if stride == 1 and in_planes == out_planes:
        return nn.Sequential()
    return nn.Sequential(
        nn.Conv2d(in_planes, out_planes, 1, stride, bias=False),
        nn.BatchNorm2d(out_planes))


@MODELS.register_module()
class CIFARResNetV2(BaseBackbone):
    """Four-stage ResNet for 32x32 inputs (3x3 stride-1 stem, no max-pool).

    Args:
        arch (str): ``'resnet18'``, ``'resnet34'`` (basic blocks), ``'resnet50'``,
            ``'resnet101'``, ``'resnet152'`` (bottlenecks).
        out_indices (int | Sequence[int]): stages to return (0..3). Defaults to -1.

    Shapes: (N, 3, 32, 32) -> last stage (N, 512 * expansion, 4, 4), e.g.
    (N, 2048, 4, 4) for ``resnet50``.
    """
    arch_settings = {
        'resnet18': (BasicBlockV2, (2, 2, 2, 2)),
        'resnet34': (BasicBlockV2, (3, 4, 6, 3)),
        'resnet50': (BottleneckV2, (3, 4, 6, 3)),
        'resnet101': (BottleneckV2, (3, 4, 23, 3)),
        'resnet152': (BottleneckV2, (3, 8, 36, 3)),
    }

    def __init__(self, arch='resnet50', out_indices=-1, init_cfg=CIFAR_INIT_CFG):
        super().__init__(init_cfg)
        block, num_blocks = pick_setting(self.arch_settings, arch, 'CIFARResNetV2')
        self.arch = arch
        self.out_indices = check_out_indices(out_indices, 4, 'CIFARResNetV2')
        self.in_planes = 64
        self.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        for i, (planes, stride) in enumerate(zip((64, 128, 256, 512), (1, 2, 2, 2))):
            layers = []
            for s in [stride] + [1] * (num_blocks[i] - 1):
                layers.append(block(self.in_planes, planes, s))
                self.in_planes = planes * block.expansion
            self.add_module(f'layer{i + 1}', nn.Sequential(*layers))
        self.out_channels = self.in_planes

    def forward(self, x):
        return tuple(stem_and_stages(self, x, 4)[1])
