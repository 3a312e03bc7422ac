"""Swin Transformer with [DET] tokens and the Reconfigured Attention Module (ViDT).

ViDT (Song et al., ICLR 2022, sec. 3.1; reference code naver-ai/vidt
``methods/swin_w_ram.py``) appends 100 learnable [DET] tokens to a Swin backbone. Every
Swin weight (norms, qkv, output projection, MLP, patch merging) is shared between the
[PATCH] and the [DET] tokens; only the attention pattern changes (RAM, paper Fig. 3):

* [PATCH] x [PATCH]: (shifted) window attention with relative-position bias
  (MMDet's ``ShiftWindowMSA``, unchanged: patches never see [DET] tokens);
* [DET] x [DET]: global self-attention in every stage; the [DET] input of each block
  is ``norm1(det) + det_pos_linear(det_pos)``;
* [DET] x [PATCH]: in ``cross_attn_stages`` only, the [DET] queries attend in one
  softmax to all (unshifted) patches of the stage and to the [DET] tokens. As in the
  reference, the patch keys **and values** are computed from ``norm1(patch) + sine
  position encoding`` (the paper's Eq. 2 shows the encoding on the keys only), and
  padded patches get ``-100`` added to their logits (the reference's constant).

The padding mask of the cross-attention stages follows the reference exactly: the
image mask is resized (nearest) to the patch-embedding grid divided by
``2 ** (num_stages - len(cross_attn_stages))``, then, where that differs, to the stage
grid.

Shapes: input (N, 3, H, W), optional padding mask (N, H, W) (True = padding).
Output: a tuple of 5 -- the [PATCH] maps of stages 2, 3, 4 with strides 8 / 16 / 32
and widths 2C / 4C / 8C, **without** a LayerNorm (the reference's ``norm1..3`` are
"not used in the current version"; our model has no such modules and the converters
drop them), the extra merged map of stride 64 with ``extra_out_channels`` (256)
channels, and the final [DET] tokens (N, 100, 8C) (before the last patch merging).
"""
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.models.backbones.swin import SwinBlock
from mmdet.models.layers import PatchEmbed, PatchMerging, SinePositionalEncoding
from mmdet.registry import MODELS
from mmengine.model import BaseModule, ModuleList
from mmengine.model.weight_init import constant_init, trunc_normal_, trunc_normal_init

from .vidt_swin_weights import load_vidt_swin_checkpoint

ARCH_SETTINGS = {
    'nano':
    dict(
        embed_dims=48, depths=(2, 2, 6, 2), num_heads=(3, 6, 12, 24), drop_path_rate=0.0),
    'tiny':
    dict(
        embed_dims=96, depths=(2, 2, 6, 2), num_heads=(3, 6, 12, 24), drop_path_rate=0.2),
    'small':
    dict(
        embed_dims=96, depths=(2, 2, 18, 2), num_heads=(3, 6, 12, 24),
        drop_path_rate=0.3),
    'base':
    dict(
        embed_dims=128,
        depths=(2, 2, 18, 2),
        num_heads=(4, 8, 16, 32),
        drop_path_rate=0.3),
}

#: logit offset of padded patches in [DET] x [PATCH] attention (the reference's value)
PAD_LOGIT = -100.0


def det_attention(det_q, det_k, det_v, patch_k=None, patch_v=None, patch_keep=None):
    """[DET] x [DET] (and optionally [DET] x [PATCH]) attention in one softmax.

    ``softmax(q [k_patch; k_det]^T / sqrt(hd) + b) [v_patch; v_det]`` with
    b = ``PAD_LOGIT`` (-100) at padded patches and 0 elsewhere (reference RAM).

    Args:
        det_q, det_k, det_v: (N, heads, D, hd) [DET] queries / keys / values.
        patch_k, patch_v: (N, heads, P, hd) patch keys / values, or None.
        patch_keep: (N, P) bool, False at padded patches, or None (nothing padded).
    Returns:
        (N, heads, D, hd).
    """
    if patch_k is None:
        return F.scaled_dot_product_attention(det_q, det_k, det_v)
    keys = torch.cat([patch_k, det_k], dim=2)
    values = torch.cat([patch_v, det_v], dim=2)
    bias = None
    if patch_keep is not None:
        pad = (~patch_keep).to(det_q.dtype) * PAD_LOGIT
        bias = F.pad(pad, (0, det_k.shape[2]))[:, None, None, :]
    return F.scaled_dot_product_attention(det_q, keys, values, attn_mask=bias)


class RAMSwinBlock(SwinBlock):
    """MMDet ``SwinBlock`` plus the [DET] path of RAM (shared weights).

    ``forward(x, det, det_pos, hw_shape, cross=None)``: x (N, HW, C) patches,
    det (N, D, C), det_pos (1 or N, D, 256); ``cross`` = (pos (N, HW, C),
    keep (N, HW) bool or None) in cross-attention stages. Returns (x, det).

    [DET] path (reference ``SwinTransformerBlock`` / ``ReconfiguredAttentionModule``)::

        d' = norm1(det) + det_pos_linear(det_pos)
        q, k, v = qkv(d');  k_p, v_p = qkv(norm1(x) + pos)[k, v]   (cross stages)
        det = det + proj(attention(q, [k_p; k], [v_p; v]));  det = det + mlp(norm2(det))
    """

    def __init__(self, embed_dims, num_heads, *args, det_pos_dims=256, **kwargs):
        super().__init__(embed_dims, num_heads, *args, **kwargs)
        self.num_heads = num_heads
        self.det_pos_linear = nn.Linear(det_pos_dims, embed_dims)

    def _heads(self, t):
        n, length, c = t.shape
        return t.view(n, length, self.num_heads, c // self.num_heads).transpose(1, 2)

    def forward(self, x, det, det_pos, hw_shape, cross=None):
        identity = x
        x_normed = self.norm1(x)
        x = identity + self.attn(x_normed, hw_shape)
        x = self.ffn(self.norm2(x), identity=x)

        msa = self.attn.w_msa
        n, num_det, c = det.shape
        det_in = self.norm1(det) + self.det_pos_linear(det_pos)
        q, k, v = F.linear(det_in, msa.qkv.weight, msa.qkv.bias).chunk(3, dim=-1)
        patch_k = patch_v = keep = None
        if cross is not None:
            pos, keep = cross
            b_kv = None if msa.qkv.bias is None else msa.qkv.bias[c:]
            # keys AND values from the position-encoded patches (reference RAM)
            kv = F.linear(x_normed + pos, msa.qkv.weight[c:], b_kv)
            patch_k, patch_v = (self._heads(t) for t in kv.chunk(2, dim=-1))
        # SDPA scales by hd^-0.5; fold a custom qk_scale into q.
        hd = c // self.num_heads
        q = q * (msa.scale * hd**0.5)
        out = det_attention(
            self._heads(q), self._heads(k), self._heads(v), patch_k, patch_v, keep)
        out = msa.proj(out.transpose(1, 2).reshape(n, num_det, c))
        det = det + self.attn.drop(out)
        det = self.ffn(self.norm2(det), identity=det)
        return x, det


class ViDTSwinStage(BaseModule):
    """Blocks of one stage (``blocks``) and the patch merging after it
    (``downsample``)."""

    def __init__(self, blocks, downsample):
        super().__init__()
        self.blocks = ModuleList(blocks)
        self.downsample = downsample


@MODELS.register_module()
class ViDTSwinTransformer(BaseModule):
    """Swin backbone with [DET] tokens and RAM (see the module docstring).

    Args:
        arch (str | dict): 'nano' | 'tiny' | 'small' | 'base' (``ARCH_SETTINGS``),
            or ``dict(embed_dims=C, depths=(..), num_heads=(..))`` for another size.
        num_det_tokens (int): number of [DET] tokens (100).
        det_pos_dims (int): width of the [DET] position embedding (256).
        cross_attn_stages (tuple[int]): stages (0-based) with [DET] x [PATCH]
            attention; default the last one.
        extra_out_channels (int): width of the extra stride-64 level (256).
        window_size (int), drop_path_rate (float or None: arch default).
        init_cfg (dict, optional): ``dict(type='Pretrained', checkpoint=PATH)`` loads
            PATH in ``init_weights`` strictly: an official Swin ImageNet checkpoint, a
            ViDT reference checkpoint (backbone or whole detector) or our own layout,
            converted on load (:mod:`.vidt_swin_weights`), like MMDet's
            ``SwinTransformer``. Anything else: random init.
        pretrained (str, optional): deprecated alias of
            ``init_cfg=dict(type='Pretrained', checkpoint=pretrained)`` (as in MMDet).
    """

    def __init__(self,
                 arch='nano',
                 num_det_tokens=100,
                 det_pos_dims=256,
                 cross_attn_stages=(3, ),
                 extra_out_channels=256,
                 window_size=7,
                 mlp_ratio=4,
                 qkv_bias=True,
                 drop_path_rate=None,
                 with_cp=False,
                 pretrained=None,
                 init_cfg=None):
        init_cfg, ckpt_key = self._pretrained_init_cfg(pretrained, init_cfg)
        super().__init__(init_cfg=init_cfg)
        self._ckpt_key = ckpt_key
        setting = self._arch_setting(arch)
        embed, depths, heads = (setting['embed_dims'], setting['depths'],
                                setting['num_heads'])
        if drop_path_rate is None:
            drop_path_rate = setting['drop_path_rate']
        for s in cross_attn_stages:
            if not 0 <= s < len(depths):
                raise ValueError(f'model.backbone.cross_attn_stages: stage {s} out of '
                                 f'range 0..{len(depths) - 1}')
        self.arch = arch
        self.cross_attn_stages = tuple(cross_attn_stages)
        self.num_features = [embed * 2**i for i in range(len(depths))]
        #: widths of the 4 output maps (strides 8, 16, 32, 64): what the neck gets
        self.out_channels = [*self.num_features[1:], extra_out_channels]
        # reference: mask_divisor = 2 ** (num_layers - len(cross_indices))
        self.mask_divisor = 2**(len(depths) - len(self.cross_attn_stages))
        self.patch_embed = PatchEmbed(
            in_channels=3,
            embed_dims=embed,
            conv_type='Conv2d',
            kernel_size=4,
            stride=4,
            norm_cfg=dict(type='LN'),
            init_cfg=None)
        self.det_token = nn.Parameter(torch.zeros(1, num_det_tokens, embed))
        self.det_pos_embed = nn.Parameter(torch.zeros(1, num_det_tokens, det_pos_dims))
        # stochastic depth rates (plain floats; 'cpu' also under a meta device context)
        dpr = torch.linspace(0, drop_path_rate, sum(depths), device='cpu').tolist()
        self.stages = self._build_stages(depths, heads, dpr, window_size, mlp_ratio,
                                         qkv_bias, with_cp, det_pos_dims,
                                         extra_out_channels)
        self.cross_pos = nn.ModuleDict({
            str(i):
            SinePositionalEncoding(self.num_features[i] // 2, normalize=True)
            for i in self.cross_attn_stages
        })

    @staticmethod
    def _arch_setting(arch):
        """``ARCH_SETTINGS[arch]``, or a custom size given as a dict with
        ``embed_dims``, ``depths``, ``num_heads`` (and optionally ``drop_path_rate``,
        default 0), e.g. the small reference networks of the converter tests."""
        if isinstance(arch, dict):
            keys = {'embed_dims', 'depths', 'num_heads'}
            missing = sorted(keys - set(arch))
            unknown = sorted(set(arch) - keys - {'drop_path_rate'})
            if missing or unknown:
                raise KeyError(f'model.backbone.arch: a custom arch needs exactly '
                               f'{sorted(keys)} (+ optional drop_path_rate); missing '
                               f'{missing}, unknown {unknown}')
            if len(arch['depths']) != len(arch['num_heads']):
                raise ValueError('model.backbone.arch: depths and num_heads must have '
                                 f"one entry per stage, got {arch['depths']} and "
                                 f"{arch['num_heads']}")
            return dict(dict(drop_path_rate=0.0), **arch)
        if arch not in ARCH_SETTINGS:
            raise KeyError(f'model.backbone.arch: unknown ViDT Swin arch "{arch}"; '
                           f'expected one of {sorted(ARCH_SETTINGS)} or a dict with '
                           'embed_dims, depths, num_heads')
        return ARCH_SETTINGS[arch]

    @staticmethod
    def _pretrained_init_cfg(pretrained, init_cfg):
        """``(init_cfg, config key named in checkpoint errors)``: the deprecated
        ``pretrained`` becomes ``init_cfg=dict(type='Pretrained', ...)`` (as in
        MMDet's Swin); any other ``init_cfg`` than that is refused."""
        ckpt_key = 'model.backbone.init_cfg.checkpoint'
        if pretrained is not None:
            if init_cfg is not None:
                raise ValueError(
                    'model.backbone: set init_cfg or pretrained (deprecated), '
                    'not both')
            if not isinstance(pretrained, str):
                raise TypeError(f'model.backbone.pretrained: expected a checkpoint path '
                                f'(str) or None, got {type(pretrained).__name__}')
            warnings.warn(
                'model.backbone.pretrained is deprecated, use '
                'init_cfg=dict(type="Pretrained", checkpoint=...)', DeprecationWarning)
            init_cfg = dict(type='Pretrained', checkpoint=pretrained)
            ckpt_key = 'model.backbone.pretrained'
        if init_cfg is not None and not (isinstance(init_cfg, dict)
                                         and init_cfg.get('type') == 'Pretrained'
                                         and 'checkpoint' in init_cfg):
            raise ValueError('model.backbone.init_cfg: ViDTSwinTransformer supports only '
                             'dict(type="Pretrained", checkpoint=PATH[, prefix=...]) '
                             f'(its random init is fixed), got {init_cfg}')
        return init_cfg, ckpt_key

    def _build_stages(self, depths, heads, dpr, window_size, mlp_ratio, qkv_bias, with_cp,
                      det_pos_dims, extra_out_channels):
        """The 4 stages of RAM Swin blocks, each ending in its patch merging (the
        last one merges to the extra stride-64 level)."""
        stages = ModuleList()
        for i, (depth, num_heads) in enumerate(zip(depths, heads)):
            width = self.num_features[i]
            blocks = [
                RAMSwinBlock(
                    width,
                    num_heads,
                    mlp_ratio * width,
                    window_size=window_size,
                    shift=j % 2 == 1,
                    qkv_bias=qkv_bias,
                    drop_path_rate=dpr[sum(depths[:i]) + j],
                    with_cp=with_cp,
                    det_pos_dims=det_pos_dims) for j in range(depth)
            ]
            out = width * 2 if i < len(depths) - 1 else extra_out_channels
            stages.append(ViDTSwinStage(blocks, PatchMerging(width, out)))
        return stages

    def init_weights(self):
        """Random init (Swin's), then the ``Pretrained`` checkpoint if configured."""
        self._random_init()
        if self.init_cfg is not None:
            load_vidt_swin_checkpoint(
                self,
                self.init_cfg['checkpoint'],
                key_hint=self._ckpt_key,
                prefix=self.init_cfg.get('prefix'))

    def _random_init(self):
        for m in self.modules():
            if isinstance(m, nn.Linear):
                trunc_normal_init(m, std=.02, bias=0.)
            elif isinstance(m, nn.LayerNorm):
                constant_init(m, 1.0)
        for stage in self.stages:
            for blk in stage.blocks:
                trunc_normal_(blk.attn.w_msa.relative_position_bias_table, std=.02)
        trunc_normal_(self.det_token, std=.02)
        trunc_normal_(self.det_pos_embed, std=.02)

    def _cross_mask(self, mask, embed_hw):
        """Image padding mask (N, H, W) -> the reference's base mask (nearest) on the
        patch-embedding grid divided by ``mask_divisor``."""
        size = tuple(max(1, s // self.mask_divisor) for s in embed_hw)
        return F.interpolate(mask[None].float(), size=size).to(torch.bool)[0]

    @staticmethod
    def _stage_mask(base, hw):
        """Base mask -> (mask (N, h, w), keep (N, h*w)) at a stage resolution."""
        if tuple(base.shape[-2:]) != tuple(hw):
            base = F.interpolate(base[None].float(), size=hw).to(torch.bool)[0]
        return base, ~base.flatten(1)

    def forward(self, x, mask=None):
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f'ViDTSwinTransformer expects images (N, 3, H, W), got '
                             f'{tuple(x.shape)}')
        if mask is not None and (mask.shape[0] != x.shape[0]
                                 or mask.shape[-2:] != x.shape[-2:]):
            raise ValueError(f'padding mask shape {tuple(mask.shape)} does not match '
                             f'images {tuple(x.shape)}')
        n = x.shape[0]
        x, hw = self.patch_embed(x)
        base = None
        if mask is not None and self.cross_attn_stages:
            base = self._cross_mask(mask, hw)
        det = self.det_token.expand(n, -1, -1)
        det_pos = self.det_pos_embed
        outs = []
        last = len(self.stages) - 1
        for i, stage in enumerate(self.stages):
            cross = None
            if i in self.cross_attn_stages:
                if base is None:
                    pos = self.cross_pos[str(i)](None, input=x.new_empty(n, 1, *hw))
                    keep = None
                else:
                    small, keep = self._stage_mask(base, hw)
                    pos = self.cross_pos[str(i)](small)
                cross = (pos.flatten(2).transpose(1, 2), keep)
            for blk in stage.blocks:
                x, det = blk(x, det, det_pos, hw, cross)
            if i >= 1:  # no output norm: the reference's norm1..3 are unused
                outs.append(x.view(n, *hw, -1).permute(0, 3, 1, 2).contiguous())
            x, hw = stage.downsample(x, hw)
            if i < last:
                # [DET] tokens repeated 4x in the unfold channel order (c*4 + k) of
                # mmcv's PatchMerging, then the shared norm + reduction.
                det = stage.downsample.reduction(
                    stage.downsample.norm(det.repeat_interleave(4, dim=-1)))
        outs.append(x.view(n, *hw, -1).permute(0, 3, 1, 2).contiguous())
        return tuple(outs) + (det, )
