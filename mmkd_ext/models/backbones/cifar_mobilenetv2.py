"""MobileNetV2 for 32x32 inputs as in the CRD benchmark (``mobile_half``: width 0.5).

Stem conv3x3 stride 2, the seven inverted-residual stages of Sandler et al. 2018
(expansion t, channels c * width, repeats n, first stride s), with this benchmark's
strides (1, 1, 2, 2, 1, 2, 1) for 32x32 inputs, then a 1x1 conv to 1280 channels.
Every block has the 1x1 expansion conv (also for t = 1), so the parameter names are
``blocks.{stage}.{i}.conv.{0,1,3,4,6,7}`` as in the public checkpoints.
"""
import torch.nn as nn
from mmpretrain.models.backbones.base_backbone import BaseBackbone
from mmpretrain.registry import MODELS

from .cifar_resnet import CIFAR_INIT_CFG, check_out_indices


def _conv_bn_relu(inp, oup, kernel, stride):
    return nn.Sequential(
        nn.Conv2d(inp, oup, kernel, stride, kernel // 2, bias=False), nn.BatchNorm2d(oup),
        nn.ReLU(inplace=True))


class InvertedResidual(nn.Module):
    """pw 1x1 (x t) - BN - ReLU - dw 3x3 - BN - ReLU - pw-linear 1x1 - BN (+ x)."""

    def __init__(self, inp, oup, stride, expand_ratio):
        super().__init__()
        hidden = inp * expand_ratio
        self.use_res_connect = stride == 1 and inp == oup
        self.conv = nn.Sequential(
            nn.Conv2d(inp, hidden, 1, bias=False), nn.BatchNorm2d(hidden),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden), nn.ReLU(inplace=True),
            nn.Conv2d(hidden, oup, 1, bias=False), nn.BatchNorm2d(oup))

    def forward(self, x):
        out = self.conv(x)
        return x + out if self.use_res_connect else out


@MODELS.register_module()
class CIFARMobileNetV2(BaseBackbone):
    """MobileNetV2 backbone for CIFAR.

    Args:
        widen_factor (float): channel multiplier of the stages (0.5 = ``mobile_half``).
        expand_ratio (int): t of stages 2-7 (stage 1 uses 1). Defaults to 6.
        out_indices (int | Sequence[int]): outputs to return: 0..6 are the seven
            stages, 7 the final 1x1 conv. Defaults to -1.

    Shapes: (N, 3, 32, 32) -> final (N, 1280, 2, 2).
    """
    # t, c, n, s
    stage_settings = ((1, 16, 1, 1), (None, 24, 2, 1), (None, 32, 3, 2), (None, 64, 4, 2),
                      (None, 96, 3, 1), (None, 160, 3, 2), (None, 320, 1, 1))

    def __init__(self,
                 widen_factor=0.5,
                 expand_ratio=6,
                 out_indices=-1,
                 init_cfg=CIFAR_INIT_CFG):
        super().__init__(init_cfg)
        if not widen_factor > 0:
            raise ValueError(f'CIFARMobileNetV2: widen_factor must be > 0, got '
                             f'{widen_factor!r}')
        self.out_indices = check_out_indices(out_indices, 8, 'CIFARMobileNetV2')
        in_ch = int(32 * widen_factor)
        self.conv1 = _conv_bn_relu(3, in_ch, 3, 2)
        self.blocks = nn.ModuleList()
        for t, c, n, s in self.stage_settings:
            t = expand_ratio if t is None else t
            out_ch = int(c * widen_factor)
            layers = []
            for stride in [s] + [1] * (n - 1):
                layers.append(InvertedResidual(in_ch, out_ch, stride, t))
                in_ch = out_ch
            self.blocks.append(nn.Sequential(*layers))
        self.last_channel = 1280 if widen_factor <= 1.0 else int(
            round(1280 * widen_factor / 8) * 8)
        self.conv2 = _conv_bn_relu(in_ch, self.last_channel, 1, 1)
        self.out_channels = self.last_channel

    def forward(self, x):
        x = self.conv1(x)
        outs = []
        for i, stage in enumerate(self.blocks):
            x = stage(x)
            if i in self.out_indices:
                outs.append(x)
        x = self.conv2(x)
        if 7 in self.out_indices:
            outs.append(x)
        return tuple(outs)
