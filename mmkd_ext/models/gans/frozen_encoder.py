"""A frozen image encoder (the distillation teacher, or a metric's feature extractor).

Builds any MMPretrain backbone / neck / projection from configs (``mmpretrain.``-prefixed
types, or ``_scope_='mmpretrain'``), loads them strictly from one state-dict file
(:func:`mmkd_ext.models.utils.checkpoint.load_checkpoint_strict`), and maps GAN images
to embeddings:

``x (N, 3, H, W) in [-1, 1]`` -> resize (``scale_factor`` or ``input_size``) ->
``(255 (x + 1) / 2 - mean) / std`` -> backbone -> last output (4-d maps are
average-pooled, ``(N, L, C)`` tokens take ``token_index``; a neck runs before pooling) ->
projection ->
``(N, D)``.

CLIP ViT-B/32 route (gan.md): convert OpenAI's checkpoint with MMPretrain's
``tools/model_converters/openai-clip_to_mmpretrain-clip.py``; its keys start with
``visual.`` (VisionTransformer, arch base, patch 32, ``pre_norm=True``, QuickGELU) and
``visual_proj.`` (768 -> 512 projection, :class:`CLIPImageProjection`), hence
``ckpt_prefixes=dict(backbone='visual.', projection='visual_proj.')``.
See ``configs/_base_/gan/clip-vit-b32_teacher.py``.
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmkd_ext.registry import MODELS
from ..utils.checkpoint import load_checkpoint_strict, select_prefix


def _build(cfg, key):
    """Build a part: ``mmpretrain.``-prefixed types or ``_scope_='mmpretrain'``
    configs from MMPretrain, unprefixed types from mmkd_ext (whatever the default
    scope)."""
    if isinstance(cfg, nn.Module):
        return cfg
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise TypeError(f'{key} must be a module config dict with "type", got {cfg!r}')
    cfg = dict(cfg)
    if isinstance(cfg['type'], str) and '.' not in cfg['type']:
        cfg.setdefault('_scope_', 'mmkd_ext')
    return MODELS.build(cfg)


@MODELS.register_module()
class CLIPImageProjection(nn.Module):
    """CLIP's image projection ``(N, C_in) -> (N, C_out)``, ``y = x @ proj``.

    Same parameter name and layout (``proj``: (C_in, C_out)) as MMPretrain's
    ``CLIPProjection``, so converted ``visual_proj.proj`` weights load; MMPretrain only
    registers its class when its multimodal extras (``transformers``) are installed.
    Takes and returns a tuple like an MMPretrain neck.
    """

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.proj = nn.Parameter(in_channels**-0.5 *
                                 torch.randn(in_channels, out_channels))

    def forward(self, inputs):
        x = inputs[-1] if isinstance(inputs, (tuple, list)) else inputs
        return (x @ self.proj, )


@MODELS.register_module()
class FrozenImageEncoder(nn.Module):
    """Frozen image encoder from MMPretrain parts (always in eval mode, no gradients).

    Args:
        backbone (dict): backbone config (e.g. ``mmpretrain.ResNet_CIFAR``,
            ``mmpretrain.VisionTransformer``), or a whole ``mmpretrain.ImageClassifier``
            (its ``extract_feat`` is then used).
        neck / projection (dict, optional): applied after the backbone.
        checkpoint (str, optional): state-dict file (random weights when ``None``).
        ckpt_prefixes (dict, optional): key prefix in the file per part, e.g.
            ``dict(backbone='visual.', projection='visual_proj.')``; ``None`` loads the
            file into the whole encoder (keys ``backbone.*``, ``neck.*``, ...).
        key_hint (str): config key named in errors.
        input_size (int, optional) / scale_factor (int, optional): resize to the
            teacher's input (gan.md: x7 nearest, 32 -> 224).
        resize_mode (str): ``F.interpolate`` mode. Defaults to ``'nearest'``.
        mean / std (seq of 3 floats): teacher normalisation in 0..255 units.
        token_index (int): token taken from ``(N, L, C)`` outputs. Defaults to 0.
    """

    def __init__(self,
                 backbone: dict,
                 neck: Optional[dict] = None,
                 projection: Optional[dict] = None,
                 checkpoint: Optional[str] = None,
                 ckpt_prefixes: Optional[dict] = None,
                 key_hint: str = 'teacher',
                 input_size: Optional[int] = None,
                 scale_factor: Optional[int] = None,
                 resize_mode: str = 'nearest',
                 mean=(127.5, 127.5, 127.5),
                 std=(127.5, 127.5, 127.5),
                 token_index: int = 0):
        super().__init__()
        self.backbone = _build(backbone, f'{key_hint}.backbone')
        self.neck = _build(neck, f'{key_hint}.neck') if neck else None
        self.projection = _build(projection, f'{key_hint}.projection') \
            if projection else None
        if input_size is not None and scale_factor is not None:
            raise ValueError(f'{key_hint}: set input_size or scale_factor, not both')
        self.input_size, self.scale_factor = input_size, scale_factor
        self.resize_mode, self.token_index = resize_mode, token_index
        self.register_buffer(
            'mean',
            torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1),
            persistent=False)
        self.register_buffer(
            'std',
            torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1),
            persistent=False)
        if checkpoint is not None:
            self.load_weights(checkpoint, ckpt_prefixes, f'{key_hint}.checkpoint')
        self.requires_grad_(False)
        self.eval()

    def load_weights(self, path, prefixes=None, key_hint='checkpoint'):
        """Load ``path`` strictly (:func:`~..utils.checkpoint.load_checkpoint_strict`):
        into the whole encoder, or each part from its key prefix in the file."""
        if prefixes is None:
            load_checkpoint_strict(self, path, key_hint)
            return
        parts = dict(backbone=self.backbone, neck=self.neck, projection=self.projection)
        for name, prefix in prefixes.items():
            if parts.get(name) is None:
                raise KeyError(f'{key_hint}: ckpt_prefixes names "{name}", which '
                               'this encoder does not have')
            load_checkpoint_strict(
                parts[name],
                path,
                key_hint,
                converter=lambda sd, p=prefix: select_prefix(sd, p, key_hint, path))

    def train(self, mode: bool = True):
        return super().train(False)  # frozen: BN / dropout always in eval mode

    def _pool(self, out):
        if isinstance(out, (tuple, list)):
            out = out[-1]
        if isinstance(out, (tuple, list)):  # e.g. ViT 'raw' (patch, cls) pairs
            out = out[-1]
        if out.dim() == 4:
            return out.mean(dim=(2, 3))
        if out.dim() == 3:
            return out[:, self.token_index]
        return out

    @torch.no_grad()
    def forward(self, x):
        if self.scale_factor is not None:
            x = F.interpolate(x, scale_factor=self.scale_factor, mode=self.resize_mode)
        elif self.input_size is not None and x.shape[-1] != self.input_size:
            x = F.interpolate(
                x, size=(self.input_size, self.input_size), mode=self.resize_mode)
        expected = getattr(self.backbone, 'img_size', None)  # e.g. MMPretrain ViTs
        if isinstance(expected, tuple) and tuple(x.shape[-2:]) != tuple(expected):
            raise ValueError(
                f'FrozenImageEncoder: images of {tuple(x.shape[-2:])} reach a teacher '
                f'backbone built for img_size={tuple(expected)}; set the teacher\'s '
                '`input_size` or `scale_factor` (e.g. scale_factor=7 for 32 -> 224)')
        x = ((x + 1.0) * 127.5 - self.mean) / self.std
        if hasattr(self.backbone, 'extract_feat'):
            feat = self.backbone.extract_feat(x)
        else:
            feat = self.backbone(x)
        if self.neck is not None:
            feat = self.neck(feat if isinstance(feat, tuple) else (feat, ))
        feat = self._pool(feat)
        if self.projection is not None:
            feat = self._pool(self.projection((feat, )))
        return feat.float()
