"""VGG with BatchNorm for 32x32 inputs, as in the CRD benchmark (``vgg8``, ``vgg13``).

Five blocks of conv3x3(+bias)-BN-ReLU, max-pool between blocks 0-1, 1-2 and 2-3 (and
3-4 only for 64x64 inputs, as the reference models do), widths 64-128-256-512-512.
``vgg8`` has one conv per block, ``vgg13`` two. Parameter names follow the public
CIFAR-100 checkpoints (``block{b}.{3j}`` conv, ``block{b}.{3j+1}`` BN).
"""
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.backbones.base_backbone import BaseBackbone
from mmpretrain.registry import MODELS

from .cifar_resnet import CIFAR_INIT_CFG, check_out_indices, pick_setting


@MODELS.register_module()
class CIFARVGG(BaseBackbone):
    """VGG-BN backbone.

    Args:
        arch (str): ``'vgg8'``, ``'vgg11'``, ``'vgg13'``, ``'vgg16'`` or ``'vgg19'``.
        out_indices (int | Sequence[int]): blocks to return (0..4). Defaults to -1.

    Shapes: (N, 3, 32, 32) -> last block (N, 512, 4, 4) (the reference models then
    average-pool to 1x1, i.e. ``GlobalAveragePooling``).
    """
    arch_settings = {
        'vgg8': ((64, ), (128, ), (256, ), (512, ), (512, )),
        'vgg11': ((64, ), (128, ), (256, 256), (512, 512), (512, 512)),
        'vgg13': ((64, 64), (128, 128), (256, 256), (512, 512), (512, 512)),
        'vgg16':
        ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512)),
        'vgg19': ((64, 64), (128, 128), (256, 256, 256, 256), (512, 512, 512, 512),
                  (512, 512, 512, 512)),
    }

    def __init__(self, arch='vgg13', out_indices=-1, init_cfg=CIFAR_INIT_CFG):
        super().__init__(init_cfg)
        pick_setting(self.arch_settings, arch, 'CIFARVGG')
        self.arch = arch
        self.out_indices = check_out_indices(out_indices, 5, 'CIFARVGG')
        in_ch = 3
        for b, widths in enumerate(self.arch_settings[arch]):
            layers = []
            for w in widths:
                layers += [
                    nn.Conv2d(in_ch, w, 3, padding=1),
                    nn.BatchNorm2d(w),
                    nn.ReLU(inplace=True)
                ]
                in_ch = w
            # the last ReLU is applied in forward (as the reference models do)
            self.add_module(f'block{b}', nn.Sequential(*layers[:-1]))
        self.out_channels = in_ch

    def forward(self, x):
        full_res = x.shape[2]
        outs = []
        for b in range(5):
            x = F.relu(getattr(self, f'block{b}')(x))
            if b in self.out_indices:
                outs.append(x)
            if b < 3 or (b == 3 and full_res == 64):
                x = F.max_pool2d(x, 2, 2)
        return tuple(outs)
