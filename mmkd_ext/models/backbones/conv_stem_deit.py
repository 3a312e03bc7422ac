"""The DeiT student of the VKD reference run: a convolutional stem and a distillation
token that is the mean of the patch embeddings (MMPretrain backbone).

VKD (Miles et al., CVPR 2024) trains its ImageNet DeiT-Ti / DeiT-S students with the
network of its reference code (github:roymiles/vkd, ``models/deit.py``, taken from
co-advise / CiVT), which differs from the DeiT of Touvron et al. 2021 in three places:

1. **Convolutional stem** instead of the 16x16 patch projection (total stride 16):
   ``3x [conv - BN - ReLU]`` at stride 2 then 1, 1 (7x7 3->64 pad 3, 3x3 64->64 pad 1,
   3x3 64->64 pad 1; convs without bias), then an 8x8 stride-8 conv 64->C with bias.
   224 px -> 112x112x64 -> 14x14 patch tokens. The 7x7 conv is followed by BN and ReLU
   as well (the paper's description lists only the two 3x3 conv-BN-ReLU).
2. **Distillation token = mean of the patch embeddings** (after the stem, before the
   position embedding), recomputed for every image; there is no learned
   ``dist_token`` parameter: ``x = [cls; mean_i p_i; p_1 .. p_N] + pos_embed``, with
   a learned position embedding of N + 2 entries (the second one is added to the
   distillation token).
3. **Drop path 0**: the reference builds the student without passing its
   ``--drop-path 0.1`` argument, so timm's default 0 applies (dropout 0 too).

Everything else is MMPretrain's :class:`~mmpretrain.models.backbones.VisionTransformer`
(pre-norm blocks, LayerNorm eps 1e-6, qkv bias, GELU MLP of ratio 4, final LayerNorm
``ln1``), whose layers this class reuses unchanged.

Shapes (``out_type='cls_token'``, the default): ``(N, 3, H, W)`` ->
``((N, C), (N, C))`` = (class token, distillation token) after the final norm, as
MMPretrain's ``DistilledVisionTransformer`` returns them, for
:class:`mmkd_ext.models.heads.DeiTDistillClsHead`. ``'raw'`` gives ``(N, 2 + L, C)``
(class, distillation, then L = (H/16)(W/16) patch tokens); ``'featmap'`` the patch
tokens as ``(N, C, H/16, W/16)``.

Size at 224 px with the two ``DeiTDistillClsHead`` classifiers (1000 classes):
DeiT-Ti 6,633,104 parameters, DeiT-S 23,797,520 (the reference's 6.63 M / 23.8 M).
See docs/classification.md for the FLOP counts and their convention.
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmpretrain.models.backbones import VisionTransformer
from mmpretrain.models.utils import resize_pos_embed, to_2tuple
from mmpretrain.registry import MODELS

__all__ = ['ConvStemEmbed', 'ConvStemDistilledVisionTransformer', 'conv_stem_out_size']

STEM_STRIDES = (4, 8, 16)


def conv_stem_out_size(size: int, stem_stride: int = 16) -> int:
    """Token-grid side after the stem for an input side ``size``.

    7x7 / stride 2 / pad 3 gives ``ceil(size / 2)``; the 3x3 convs keep it; the k x k /
    stride-k projection (k = ``stem_stride / 2``, 8 in the reference) gives
    ``floor(ceil(size / 2) / k)`` (= size / 16 for multiples of 16 by default).
    """
    return ((size + 1) // 2) // (stem_stride // 2)


class ConvStemEmbed(BaseModule):
    """Convolutional patch embedding of the VKD / CiVT DeiT (see the module docstring).

    ``(N, in_channels, H, W)`` -> ``((N, L, embed_dims), (H', W'))`` with
    ``H' = conv_stem_out_size(H)``, the interface of MMCV's ``PatchEmbed``.

    Args:
        embed_dims (int): token width C.
        in_channels (int): image channels. Defaults to 3.
        stem_channels (int): width of the three conv-BN-ReLU layers. Defaults to 64.
        input_size (int | tuple): nominal image size, sets ``init_out_size``.
        norm_cfg (dict): norm of the stem convs. Defaults to ``dict(type='BN')``.
        stem_stride (int): total stride, 16 (the reference: 8x8 stride-8 projection),
            8 or 4 (4x4 / 2x2 projection, for small images, e.g. 16 px digits to 4x4
            tokens). Defaults to 16.
    """

    def __init__(self,
                 embed_dims: int,
                 in_channels: int = 3,
                 stem_channels: int = 64,
                 input_size=224,
                 norm_cfg: Optional[dict] = None,
                 stem_stride: int = 16,
                 init_cfg=None):
        super().__init__(init_cfg)
        if stem_stride not in STEM_STRIDES:
            raise ValueError(f'stem_stride must be one of {STEM_STRIDES}, got '
                             f'{stem_stride!r}')
        norm_cfg = dict(type='BN') if norm_cfg is None else norm_cfg
        act_cfg = dict(type='ReLU', inplace=True)
        self.stem = nn.Sequential(
            ConvModule(
                in_channels,
                stem_channels,
                7,
                stride=2,
                padding=3,
                bias=False,
                norm_cfg=norm_cfg,
                act_cfg=act_cfg),
            ConvModule(
                stem_channels,
                stem_channels,
                3,
                stride=1,
                padding=1,
                bias=False,
                norm_cfg=norm_cfg,
                act_cfg=act_cfg),
            ConvModule(
                stem_channels,
                stem_channels,
                3,
                stride=1,
                padding=1,
                bias=False,
                norm_cfg=norm_cfg,
                act_cfg=act_cfg),
        )
        k = stem_stride // 2
        self.projection = nn.Conv2d(stem_channels, embed_dims, kernel_size=k, stride=k)
        h, w = to_2tuple(input_size)
        self.init_out_size = (conv_stem_out_size(h, stem_stride),
                              conv_stem_out_size(w, stem_stride))
        if min(self.init_out_size) < 1:
            raise ValueError(f'ConvStemEmbed: img_size {(h, w)} is too small for the '
                             f'stride-{stem_stride} stem (each side must be >= '
                             f'{stem_stride - 1} px)')

    def init_weights(self):
        """Kaiming-normal convs (fan-in, ReLU gain) as the reference; unit BN."""
        super().init_weights()
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_in', nonlinearity='relu')
            elif isinstance(m, nn.modules.batchnorm._BatchNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, Tuple[int, int]]:
        x = self.projection(self.stem(x))
        hw = (x.shape[2], x.shape[3])
        return x.flatten(2).transpose(1, 2), hw


@MODELS.register_module()
class ConvStemDistilledVisionTransformer(VisionTransformer):
    """DeiT with a convolutional stem and a mean-pooled distillation token (VKD).

    See the module docstring for the network and its reference. Registered in
    MMPretrain's ``MODELS``.

    Args:
        arch (str | dict): as :class:`mmpretrain.models.VisionTransformer`
            (``'deit-tiny'``, ``'deit-small'``, ``'deit-base'`` or a dict).
            Defaults to ``'deit-tiny'``.
        img_size (int | tuple): nominal input size (sets the position embedding's
            grid; other sizes interpolate it). Defaults to 224.
        stem_channels (int): stem width. Defaults to 64.
        stem_norm_cfg (dict): stem norm. Defaults to ``dict(type='BN')``.
        stem_stride (int): the stem's total stride: 16 (default, the reference), 8
            or 4 (a smaller projection kernel, for small images).
        drop_path_rate (float): stochastic depth; the reference run uses 0.
        out_type (str): ``'cls_token'`` (default: the class / distillation token
            pair), ``'raw'``, ``'featmap'`` or ``'avg_featmap'``.
        **kwargs: the other arguments of ``VisionTransformer`` (``in_channels``,
            ``out_indices``, ``drop_rate``, ``qkv_bias``, ``norm_cfg``,
            ``final_norm``, ``frozen_stages``, ``interpolate_mode``,
            ``layer_cfgs``, ``init_cfg``). ``patch_size``, ``patch_cfg`` and
            ``with_cls_token=False`` are refused: the stem sets the stride
            (``stem_stride``) and the class token is part of the network.
    """
    num_extra_tokens = 2  # class token and (mean-pooled) distillation token

    def __init__(self,
                 arch='deit-tiny',
                 img_size=224,
                 stem_channels: int = 64,
                 stem_norm_cfg: Optional[dict] = None,
                 stem_stride: int = 16,
                 drop_path_rate: float = 0.,
                 out_type: str = 'cls_token',
                 **kwargs):
        for key in ('patch_size', 'patch_cfg', 'pre_norm'):
            if key in kwargs:
                raise ValueError(
                    f'ConvStemDistilledVisionTransformer: `{key}` is not an argument '
                    'of this backbone (the convolutional stem replaces the patch '
                    'embedding; its total stride is `stem_stride`)')
        if not kwargs.pop('with_cls_token', True):
            raise ValueError('ConvStemDistilledVisionTransformer: `with_cls_token` '
                             'must be True (class + distillation tokens)')
        super().__init__(
            arch=arch,
            img_size=img_size,
            patch_size=16,
            drop_path_rate=drop_path_rate,
            out_type=out_type,
            with_cls_token=True,
            **kwargs)
        # Swap the 16x16 patch projection for the stem; size the position embedding
        # from the stem's own grid (it differs from PatchEmbed's for odd sizes).
        self.patch_embed = ConvStemEmbed(
            self.embed_dims,
            in_channels=kwargs.get('in_channels', 3),
            stem_channels=stem_channels,
            input_size=img_size,
            norm_cfg=stem_norm_cfg,
            stem_stride=stem_stride)
        self.patch_resolution = self.patch_embed.init_out_size
        num_patches = self.patch_resolution[0] * self.patch_resolution[1]
        self.pos_embed = nn.Parameter(
            torch.zeros(1, num_patches + self.num_extra_tokens, self.embed_dims))
        if self.frozen_stages > 0:  # the base class froze the replaced parts
            self._freeze_stages()

    def init_weights(self):
        """MMPretrain's ViT init (truncated-normal position embedding), the class
        token ~ N(0, 1e-6^2) as timm's ViT (the reference's base class), and the
        stem's Kaiming-normal convs."""
        super().init_weights()
        if not (isinstance(self.init_cfg, dict)
                and self.init_cfg['type'] == 'Pretrained'):
            nn.init.normal_(self.cls_token, std=1e-6)

    def train(self, mode: bool = True):
        """As ``nn.Module.train``; a frozen stem keeps its BatchNorms in eval mode."""
        super().train(mode)
        if mode and self.frozen_stages > 0:
            self.patch_embed.eval()
        return self

    def forward(self, x: torch.Tensor):
        patches, patch_resolution = self.patch_embed(x)  # (N, L, C)
        n = patches.shape[0]
        cls_token = self.cls_token.expand(n, -1, -1)
        dist_token = patches.mean(dim=1, keepdim=True)  # not a parameter
        x = torch.cat((cls_token, dist_token, patches), dim=1)
        x = x + resize_pos_embed(
            self.pos_embed,
            self.patch_resolution,
            patch_resolution,
            mode=self.interpolate_mode,
            num_extra_tokens=self.num_extra_tokens)
        x = self.drop_after_pos(x)
        x = self.pre_norm(x)

        outs = []
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i == len(self.layers) - 1 and self.final_norm:
                x = self.ln1(x)
            if i in self.out_indices:
                outs.append(self._format_output(x, patch_resolution))
        return tuple(outs)

    def _format_output(self, x, hw):
        if self.out_type == 'cls_token':
            return x[:, 0], x[:, 1]
        return super()._format_output(x, hw)
