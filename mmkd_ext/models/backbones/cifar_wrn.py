"""Wide ResNets for CIFAR (Zagoruyko & Komodakis 2016), as in the CRD benchmark.

Pre-activation basic blocks (BN-ReLU-conv3x3-BN-ReLU-conv3x3), depth = 6n + 4, widths
16-16k-32k-64k; ``wrn_40_2`` has n = 6, k = 2 (2.2M parameters with the 100-way
classifier), ``wrn_16_2`` has n = 2. Parameter names follow the public CIFAR-100
checkpoints (``block{1,2,3}.layer.{i}.{bn1,conv1,bn2,conv2,convShortcut}``, final
``bn1``).
"""
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.backbones.base_backbone import BaseBackbone
from mmpretrain.registry import MODELS

from .cifar_resnet import CIFAR_INIT_CFG, check_out_indices


class WideBasicBlock(nn.Module):
    """Pre-activation block; a 1x1 ``convShortcut`` when the width or stride changes."""

    def __init__(self, in_planes, out_planes, stride, drop_rate=0.0):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, out_planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_planes)
        self.conv2 = nn.Conv2d(out_planes, out_planes, 3, 1, 1, bias=False)
        self.drop_rate = drop_rate
        self.equal_in_out = in_planes == out_planes and stride == 1
        self.convShortcut = None if self.equal_in_out else nn.Conv2d(
            in_planes, out_planes, 1, stride, bias=False)

    def forward(self, x):
        pre = F.relu(self.bn1(x))
        out = F.relu(self.bn2(self.conv1(pre)), inplace=True)
        if self.drop_rate > 0:
            out = F.dropout(out, p=self.drop_rate, training=self.training)
        out = self.conv2(out)
        return out + (x if self.equal_in_out else self.convShortcut(pre))


class WideStage(nn.Module):
    """``num_blocks`` wide blocks held in ``self.layer`` (the checkpoint's naming)."""

    def __init__(self, num_blocks, in_planes, out_planes, stride, drop_rate):
        super().__init__()
        self.layer = nn.Sequential(*[
            WideBasicBlock(in_planes if i == 0 else out_planes, out_planes, stride if i ==
                           0 else 1, drop_rate) for i in range(num_blocks)
        ])

    def forward(self, x):
        return self.layer(x)


@MODELS.register_module()
class CIFARWideResNet(BaseBackbone):
    """WRN-d-k for 32x32 inputs.

    Args:
        depth (int): 6n + 4 (16, 22, 28, 40, ...). Defaults to 40.
        widen_factor (int): k. Defaults to 2.
        drop_rate (float): dropout inside blocks. Defaults to 0.
        out_indices (int | Sequence[int]): stages to return (0..2); the last stage is
            returned after the final BN-ReLU, as the classifier sees it. Defaults to -1.

    Shapes: (N, 3, 32, 32) -> last stage (N, 64k, 8, 8), e.g. (N, 128, 8, 8) for k = 2.
    """

    def __init__(self,
                 depth=40,
                 widen_factor=2,
                 drop_rate=0.0,
                 out_indices=-1,
                 init_cfg=CIFAR_INIT_CFG):
        super().__init__(init_cfg)
        if not isinstance(depth, int) or depth < 10 or (depth - 4) % 6:
            raise ValueError(f'CIFARWideResNet: depth must be 6n + 4 (n >= 1), '
                             f'got {depth!r}')
        if not isinstance(widen_factor, int) or widen_factor < 1:
            raise ValueError('CIFARWideResNet: widen_factor must be a positive int, '
                             f'got {widen_factor!r}')
        n = (depth - 4) // 6
        widths = (16, 16 * widen_factor, 32 * widen_factor, 64 * widen_factor)
        self.out_indices = check_out_indices(out_indices, 3, 'CIFARWideResNet')
        self.conv1 = nn.Conv2d(3, widths[0], 3, 1, 1, bias=False)
        self.block1 = WideStage(n, widths[0], widths[1], 1, drop_rate)
        self.block2 = WideStage(n, widths[1], widths[2], 2, drop_rate)
        self.block3 = WideStage(n, widths[2], widths[3], 2, drop_rate)
        self.bn1 = nn.BatchNorm2d(widths[3])
        self.out_channels = widths[3]

    def forward(self, x):
        x = self.conv1(x)
        outs = []
        for i, stage in enumerate((self.block1, self.block2, self.block3)):
            x = stage(x)
            if i == 2:
                x = F.relu(self.bn1(x))
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
