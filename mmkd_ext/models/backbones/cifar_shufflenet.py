"""ShuffleNet V1 / V2 for 32x32 inputs as in the CRD benchmark (``ShuffleV1``,
``ShuffleV2``), with the parameter names of the public CIFAR-100 checkpoints.

* V1 (Zhang et al. 2018), groups 3: 1x1 stem to 24 channels (stride 1), stages of
  4 / 8 / 4 bottlenecks with outputs 240 / 480 / 960; the first block of a stage has
  stride 2 and concatenates an average-pooled shortcut. (N, 3, 32, 32) -> (N, 960, 4, 4).
* V2 (Ma et al. 2018), size 1x: 1x1 stem to 24, stages of one down-sampling block plus
  3 / 7 / 3 channel-split blocks (116 / 232 / 464), then a 1x1 conv to 1024.
  (N, 3, 32, 32) -> (N, 1024, 4, 4).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.backbones.base_backbone import BaseBackbone
from mmpretrain.registry import MODELS

from .cifar_resnet import CIFAR_INIT_CFG, check_out_indices, pick_setting, stem_and_stages


def channel_shuffle(x, groups):
    """(N, g * c, H, W) -> interleave the g groups (ShuffleNet V1, eq. in sec. 3.1)."""
    n, ch, h, w = x.shape
    return x.view(n, groups, ch // groups, h, w).transpose(1, 2).reshape(n, ch, h, w)


class _ShuffleNetStem(BaseBackbone):
    """The 1x1 conv stem (3 -> 24) both CIFAR ShuffleNets start with."""

    def _stem(self, out_indices, num_stages):
        self.out_indices = check_out_indices(out_indices, num_stages, type(self).__name__)
        self.conv1 = nn.Conv2d(3, 24, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(24)
        return 24


class ShuffleV1Block(nn.Module):
    """Group 1x1 - shuffle - dw 3x3 - group 1x1; add (stride 1) or concat an
    avg-pooled input (stride 2)."""

    def __init__(self, in_planes, out_planes, stride, groups):
        super().__init__()
        mid = out_planes // 4
        self.stride = stride
        self.g1 = 1 if in_planes == 24 else groups
        self.conv1 = nn.Conv2d(in_planes, mid, 1, groups=self.g1, bias=False)
        self.bn1 = nn.BatchNorm2d(mid)
        self.conv2 = nn.Conv2d(mid, mid, 3, stride, 1, groups=mid, bias=False)
        self.bn2 = nn.BatchNorm2d(mid)
        self.conv3 = nn.Conv2d(mid, out_planes, 1, groups=groups, bias=False)
        self.bn3 = nn.BatchNorm2d(out_planes)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)), inplace=True)
        out = channel_shuffle(out, self.g1)
        out = F.relu(self.bn2(self.conv2(out)), inplace=True)
        out = self.bn3(self.conv3(out))
        if self.stride == 2:
            return F.relu(torch.cat([out, F.avg_pool2d(x, 3, 2, 1)], 1))
        return F.relu(out + x)


@MODELS.register_module()
class CIFARShuffleNetV1(_ShuffleNetStem):
    """ShuffleNet V1 backbone (``groups`` = 3 gives 240 / 480 / 960 channels).

    Args:
        groups (int): 1, 2, 3, 4 or 8. Defaults to 3.
        out_indices (int | Sequence[int]): stages to return (0..2). Defaults to -1.
    """
    stage_channels = {
        1: (144, 288, 576),
        2: (200, 400, 800),
        3: (240, 480, 960),
        4: (272, 544, 1088),
        8: (384, 768, 1536)
    }

    def __init__(self,
                 groups=3,
                 num_blocks=(4, 8, 4),
                 out_indices=-1,
                 init_cfg=CIFAR_INIT_CFG):
        super().__init__(init_cfg)
        channels = pick_setting(self.stage_channels, groups, 'CIFARShuffleNetV1',
                                'groups')
        in_planes = self._stem(out_indices, 3)
        for i, (out_planes, n) in enumerate(zip(channels, num_blocks)):
            blocks = []
            for j in range(n):
                cat_planes = in_planes if j == 0 else 0
                blocks.append(
                    ShuffleV1Block(in_planes, out_planes - cat_planes, 2 if j == 0 else 1,
                                   groups))
                in_planes = out_planes
            self.add_module(f'layer{i + 1}', nn.Sequential(*blocks))
        self.out_channels = in_planes

    def forward(self, x):
        return tuple(stem_and_stages(self, x, 3)[1])


class ShuffleV2Block(nn.Module):
    """Channel split: half passes through, half goes 1x1 - dw 3x3 - 1x1; concat,
    shuffle (2 groups)."""

    def __init__(self, in_channels):
        super().__init__()
        ch = in_channels // 2
        self.conv1 = nn.Conv2d(ch, ch, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(ch)
        self.conv2 = nn.Conv2d(ch, ch, 3, 1, 1, groups=ch, bias=False)
        self.bn2 = nn.BatchNorm2d(ch)
        self.conv3 = nn.Conv2d(ch, ch, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(ch)

    def forward(self, x):
        x1, x2 = x.chunk(2, dim=1)
        out = F.relu(self.bn1(self.conv1(x2)), inplace=True)
        out = self.bn2(self.conv2(out))
        out = F.relu(self.bn3(self.conv3(out)), inplace=True)
        return channel_shuffle(torch.cat([x1, out], 1), 2)


class ShuffleV2DownBlock(nn.Module):
    """Stride-2 block: left dw 3x3 - 1x1, right 1x1 - dw 3x3 - 1x1; concat, shuffle."""

    def __init__(self, in_channels, out_channels):
        super().__init__()
        mid = out_channels // 2
        self.conv1 = nn.Conv2d(
            in_channels, in_channels, 3, 2, 1, groups=in_channels, bias=False)
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv2 = nn.Conv2d(in_channels, mid, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(mid)
        self.conv3 = nn.Conv2d(in_channels, mid, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(mid)
        self.conv4 = nn.Conv2d(mid, mid, 3, 2, 1, groups=mid, bias=False)
        self.bn4 = nn.BatchNorm2d(mid)
        self.conv5 = nn.Conv2d(mid, mid, 1, bias=False)
        self.bn5 = nn.BatchNorm2d(mid)

    def forward(self, x):
        left = F.relu(self.bn2(self.conv2(self.bn1(self.conv1(x)))), inplace=True)
        right = F.relu(self.bn3(self.conv3(x)), inplace=True)
        right = F.relu(self.bn5(self.conv5(self.bn4(self.conv4(right)))), inplace=True)
        return channel_shuffle(torch.cat([left, right], 1), 2)


@MODELS.register_module()
class CIFARShuffleNetV2(_ShuffleNetStem):
    """ShuffleNet V2 backbone.

    Args:
        net_size (float): 0.5, 1, 1.5 or 2 (channel presets). Defaults to 1.
        out_indices (int | Sequence[int]): outputs to return: 0..2 the stages, 3 the
            final 1x1 conv (after BN-ReLU). Defaults to -1.
    """
    size_settings = {
        0.5: (48, 96, 192, 1024),
        1: (116, 232, 464, 1024),
        1.5: (176, 352, 704, 1024),
        2: (224, 488, 976, 2048)
    }

    def __init__(self,
                 net_size=1,
                 num_blocks=(3, 7, 3),
                 out_indices=-1,
                 init_cfg=CIFAR_INIT_CFG):
        super().__init__(init_cfg)
        widths = pick_setting(self.size_settings, net_size, 'CIFARShuffleNetV2',
                              'net_size')
        in_ch = self._stem(out_indices, 4)
        for i, (out_ch, n) in enumerate(zip(widths[:3], num_blocks)):
            blocks = [ShuffleV2DownBlock(in_ch, out_ch)]
            blocks += [ShuffleV2Block(out_ch) for _ in range(n)]
            self.add_module(f'layer{i + 1}', nn.Sequential(*blocks))
            in_ch = out_ch
        self.conv2 = nn.Conv2d(in_ch, widths[3], 1, bias=False)
        self.bn2 = nn.BatchNorm2d(widths[3])
        self.out_channels = widths[3]

    def forward(self, x):
        x, outs = stem_and_stages(self, x, 3)
        x = F.relu(self.bn2(self.conv2(x)), inplace=True)
        if 3 in self.out_indices:
            outs.append(x)
        return tuple(outs)
