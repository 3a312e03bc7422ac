"""Weight layouts of :class:`~mmkd_ext.models.backbones.vidt_swin.ViDTSwinTransformer`.

Three layouts load into the backbone through its ``init_weights`` (``init_cfg=dict(
type='Pretrained', checkpoint=...)``, as MMDet's ``SwinTransformer`` converts the
official Swin layout in its own ``init_weights``); :func:`detect_swin_layout` tells them
apart and :func:`load_vidt_swin_checkpoint` loads them strictly through
:mod:`mmkd_ext.models.utils.checkpoint`:

``'swin'``
    an official Swin ImageNet classification checkpoint (``layers.i.blocks.j.attn.qkv``,
    ``head.*``, final ``norm.*``; e.g. ``swin_tiny_patch4_window7_224.pth`` or ViDT's
    ``swin_nano_patch4_window7_224.pth``). Renamed by MMDet's ``swin_converter``
    (including the unfold order of the patch-merging weights, see :func:`unfold_order`).
    The ImageNet classifier (``head.*``, ``norm.*``) and constant buffers are dropped;
    the ViDT additions ([DET] tokens, [DET] position embeddings, ``det_pos_linear`` and
    the last stage's 256-d merge) keep their random init: exactly the entries that the
    reference's ``load_state_dict(strict=False)`` leaves untouched.
``'vidt_reference'``
    the backbone of the ViDT reference implementation (naver-ai/vidt,
    ``methods/swin_w_ram.py``), alone or inside a full detector checkpoint (then only
    its ``backbone.*`` entries are used). Converted by :func:`swin_reference_to_ours`.
``'mmkd'``
    our own names (``stages.i...``), alone or as the ``backbone.*`` part of a ``ViDT``
    checkpoint saved by MMEngine.

Reference entries with no counterpart in our model (:data:`SWIN_REFERENCE_UNUSED`) are
dropped by name, each for a reason read in the reference code; any other unknown entry
is an error. In particular ``norm1``..``norm3`` exist in the reference only so that
checkpoints load ("Not used in the current version" in ``SwinTransformer.__init__``):
its forward returns the stride-8/16/32 maps without them, and so does ours (which has
no such modules at all). :func:`swin_ours_to_reference` with ``complete=True``
recreates them (as identity LayerNorms) so that a converted model loads strictly into
the reference code.
"""
import math
import re
from collections import OrderedDict

import torch

from ..utils.checkpoint import (REFERENCE_TRAINING_GLOBALS, CheckpointError,
                                load_state_dict_strict, read_checkpoint, select_prefix,
                                unwrap_state_dict)

__all__ = [
    'SWIN_REFERENCE_UNUSED', 'unfold_order', 'swin_reference_to_ours',
    'swin_ours_to_reference', 'detect_swin_layout', 'convert_swin_checkpoint',
    'load_vidt_swin_checkpoint'
]

#: Backbone entries of the reference layout that our model does not have, and why
#: (names relative to the backbone).
SWIN_REFERENCE_UNUSED = OrderedDict([
    (r'^norm[123]\.(weight|bias)$',
     'output norms "Not used in the current version" (swin_w_ram.SwinTransformer); '
     'the stride-8/16/32 maps are returned without a norm'),
    (r'^layers\.\d+\.downsample\.(expansion\.weight|norm2\.(weight|bias))$',
     'PatchMerging.expansion / norm2: "please ignore, not used for training, not '
     'implemented yet" (swin_w_ram.PatchMerging)'),
    (r'\.attn\.relative_position_index$',
     'constant buffer; our model builds the identical index itself'),
])
_UNUSED = [re.compile(p) for p in SWIN_REFERENCE_UNUSED]

# block-internal names: reference -> ours (MMDet SwinBlock: attn.w_msa, ffn)
_BLOCK = [('attn.', 'attn.w_msa.'), ('mlp.fc1.', 'ffn.layers.0.0.'),
          ('mlp.fc2.', 'ffn.layers.1.'), ('norm1.', 'norm1.'), ('norm2.', 'norm2.'),
          ('det_pos_linear.', 'det_pos_linear.')]


def unfold_order(weight, inverse=False):
    """Reorder the 4C input axis of a patch-merging reduction (2-d) or norm (1-d).

    Reference / official Swin concatenate the 2x2 neighbours as blocks of C channels in
    the order x0, x1, x2, x3 = (0,0), (1,0), (0,1), (1,1) (channel ``k*C + c``); mmcv's
    ``PatchMerging`` unfolds channel-major (``c*4 + k'``, k' = (0,0), (0,1), (1,0),
    (1,1)). Same permutation as MMDet's ``swin_converter``; ``inverse`` undoes it.
    """
    perm = [0, 2, 1, 3]  # self-inverse
    if weight.dim() == 2:
        out, cin = weight.shape
        if inverse:
            return weight.reshape(out, cin // 4,
                                  4).transpose(1, 2)[:, perm].reshape(out, cin)
        return weight.reshape(out, 4, cin // 4)[:, perm].transpose(1, 2).reshape(out, cin)
    cin = weight.shape[0]
    if inverse:
        return weight.reshape(cin // 4, 4).t()[perm].reshape(cin)
    return weight.reshape(4, cin // 4)[perm].t().reshape(cin)


def _sub(name, table):
    for old, new in table:
        if name.startswith(old):
            return new + name[len(old):]
    return None


def _reference_key(name, value):
    """One reference backbone entry -> (our name or None if unknown, value)."""
    m = re.match(r'layers\.(\d+)\.blocks\.(\d+)\.(.*)$', name)
    if m:
        sub = _sub(m.group(3), _BLOCK)
        return (None if sub is None else
                f'stages.{m.group(1)}.blocks.{m.group(2)}.{sub}'), value
    m = re.match(r'layers\.(\d+)\.downsample\.(reduction\.weight|norm\.(weight|bias))$',
                 name)
    if m:
        return f'stages.{m.group(1)}.downsample.{m.group(2)}', unfold_order(value)
    if name.startswith('patch_embed.proj.'):
        return 'patch_embed.projection.' + name[len('patch_embed.proj.'):], value
    if re.match(r'(det_token|det_pos_embed|patch_embed\.norm\.(weight|bias))$', name):
        return name, value
    return None, value


def swin_reference_to_ours(state, key_hint='checkpoint', filename='', name_prefix=''):
    """ViDT reference backbone names (``layers.i.blocks.j.attn.qkv.weight``, no
    ``backbone.`` prefix) -> ours (``stages.i.blocks.j.attn.w_msa.qkv.weight``).

    Entries of :data:`SWIN_REFERENCE_UNUSED` are dropped. ``name_prefix`` is put
    before the names listed in errors (e.g. ``'backbone.'``).

    Raises:
        CheckpointError: entries that match no known reference name (listed).
    """
    out, unknown = OrderedDict(), []
    for name, value in state.items():
        if any(p.search(name) for p in _UNUSED):
            continue
        key, value = _reference_key(name, value)
        if key is None:
            unknown.append(name_prefix + name)
        else:
            out[key] = value
    if unknown:
        raise CheckpointError(
            f'{key_hint}: "{filename}": {len(unknown)} unknown entries for the ViDT '
            f'reference Swin backbone layout: {unknown[:10]}')
    return out


def _identity_ln(width, like):
    return like.new_ones(width), like.new_zeros(width)


def swin_ours_to_reference(state, complete=False):
    """Inverse of :func:`swin_reference_to_ours` (names relative to the backbone).

    With ``complete=True`` the entries the reference has but never uses are added too,
    so the result loads strictly into the reference ``SwinTransformer``: ``norm1..3``
    and ``downsample.norm2`` as identity LayerNorms, ``downsample.expansion`` as zeros,
    and the constant ``relative_position_index`` (our identical buffer, or rebuilt from
    the window size when the input lacks it).
    Without it, those entries (and the index buffers) are left out.
    """
    out = OrderedDict()
    inv = [(b, a) for a, b in _BLOCK]
    widths = {}
    for name, value in state.items():
        m = re.match(r'stages\.(\d+)\.blocks\.(\d+)\.(.*)$', name)
        if m:
            if name.endswith('relative_position_index') and not complete:
                continue
            prefix = f'layers.{m.group(1)}.blocks.{m.group(2)}.'
            out[prefix + _sub(m.group(3), inv)] = value
            if m.group(3) == 'norm1.weight':
                widths[int(m.group(1))] = value.shape[0]
            index = prefix + 'attn.relative_position_index'
            if (complete and m.group(3) == 'attn.w_msa.relative_position_bias_table'
                    and 'stages.{}.blocks.{}.attn.w_msa.relative_position_index'.format(
                        m.group(1), m.group(2)) not in state):
                window = (math.isqrt(value.shape[0]) + 1) // 2
                out[index] = relative_position_index(window, value.device)
            continue
        m = re.match(r'stages\.(\d+)\.downsample\.(.*)$', name)
        if m:
            out[f'layers.{m.group(1)}.downsample.{m.group(2)}'] = unfold_order(
                value, inverse=True)
            continue
        if name.startswith('patch_embed.projection.'):
            out['patch_embed.proj.' + name[len('patch_embed.projection.'):]] = value
        elif re.match(r'(det_token|det_pos_embed|patch_embed\.norm\.)', name):
            out[name] = value
        else:
            raise CheckpointError(f'swin_ours_to_reference: no reference name for '
                                  f'"{name}"')
    if complete:
        for i, width in sorted(widths.items()):
            like = out[f'layers.{i}.blocks.0.norm1.weight']
            red = out[f'layers.{i}.downsample.reduction.weight']
            out[f'layers.{i}.downsample.expansion.weight'] = like.new_zeros(
                red.shape[0], width)
            (out[f'layers.{i}.downsample.norm2.weight'],
             out[f'layers.{i}.downsample.norm2.bias']) = _identity_ln(width, like)
            if i >= 1:
                out[f'norm{i}.weight'], out[f'norm{i}.bias'] = _identity_ln(width, like)
        out = _reference_order(out)
    return out


def relative_position_index(window_size, device=None):
    """Swin's constant relative-position index (Wh*Ww, Wh*Ww) (= MMDet's buffer)."""
    coords = torch.stack(
        torch.meshgrid(
            torch.arange(window_size, device=device),
            torch.arange(window_size, device=device),
            indexing='ij')).flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0).contiguous()
    rel[:, :, 0] += window_size - 1
    rel[:, :, 1] += window_size - 1
    rel[:, :, 0] *= 2 * window_size - 1
    return rel.sum(-1)


_DOWNSAMPLE_ORDER = ('reduction.weight', 'norm.weight', 'norm.bias', 'expansion.weight',
                     'norm2.weight', 'norm2.bias')


def _reference_order(state):
    """Order like the reference ``state_dict()``: det tokens, patch embed, layers
    (blocks, then downsample: reduction, norm, expansion, norm2), output norms."""

    def rank(name):
        m = re.match(r'layers\.(\d+)\.(?:blocks\.(\d+)|downsample\.(.*))', name)
        if name.startswith('det_'):
            return (0, 0, 0, 0)
        if name.startswith('patch_embed'):
            return (1, 0, 0, 0)
        if m:
            if m.group(2) is not None:
                return (2, int(m.group(1)), 0, int(m.group(2)))
            sub = m.group(3)
            return (2, int(m.group(1)), 1, _DOWNSAMPLE_ORDER.index(sub)
                    if sub in _DOWNSAMPLE_ORDER else len(_DOWNSAMPLE_ORDER))
        return (3, 0, 0, 0)

    return OrderedDict(sorted(state.items(), key=lambda kv: rank(kv[0])))


def detect_swin_layout(state):
    """'swin' | 'vidt_reference' | 'mmkd' for a backbone-relative state dict."""
    if any(k.startswith('stages.') for k in state):
        return 'mmkd'
    if any(k.startswith('layers.') for k in state):
        if 'det_token' in state or any('det_pos_linear' in k for k in state):
            return 'vidt_reference'
        return 'swin'
    return 'unknown'


#: entries of official Swin ImageNet checkpoints that a detection backbone drops
_SWIN_CLASSIFIER = (r'^head\.', r'^norm\.(weight|bias)$', r'relative_position_index$',
                    r'\.attn_mask$')


def _backbone_part(state):
    """Backbone entries of a full detector checkpoint (``backbone.`` stripped)."""
    if any(k.startswith('backbone.') for k in state):
        return OrderedDict((k[len('backbone.'):], v) for k, v in state.items()
                           if k.startswith('backbone.'))
    return OrderedDict(state)


def convert_swin_checkpoint(state, key_hint='checkpoint', filename=''):
    """Any supported layout (see the module docstring) -> (our names, layout)."""
    from mmdet.models.backbones.swin import swin_converter
    state = _backbone_part(
        OrderedDict((k[len('module.'):] if k.startswith('module.') else k, v)
                    for k, v in state.items()))
    layout = detect_swin_layout(state)
    if layout == 'mmkd':
        return state, layout
    if layout == 'vidt_reference':
        return swin_reference_to_ours(state, key_hint, filename), layout
    if layout == 'swin':
        kept = OrderedDict((k, v) for k, v in state.items()
                           if not any(re.search(p, k) for p in _SWIN_CLASSIFIER))
        converted = swin_converter(kept)
        return OrderedDict(
            (k[len('backbone.'):], v) for k, v in converted.items()), layout
    raise CheckpointError(
        f'{key_hint}: "{filename}" is not a Swin / ViDT backbone checkpoint (no '
        f'"layers.*" or "stages.*" entries; first keys: {list(state)[:5]})')


def load_vidt_swin_checkpoint(backbone,
                              path,
                              key_hint='model.backbone.init_cfg',
                              prefix=None):
    """Load ``path`` (any layout of the module docstring) into ``backbone`` strictly.

    ``prefix`` (as in MMEngine's ``Pretrained`` init): use only the entries under it
    (stripped). Without it, a checkpoint with ``backbone.*`` entries gives those.

    Missing entries are allowed only where the layout cannot have them: the ViDT
    additions for an ImageNet Swin checkpoint (see the module docstring), the constant
    ``relative_position_index`` buffers otherwise.

    Returns:
        str: the layout that was read.

    Raises:
        CheckpointError: missing / unknown entries or shape mismatches (e.g. another
            arch), listed, naming ``key_hint`` and the file.
    """
    state = unwrap_state_dict(
        read_checkpoint(path, key_hint, extra_safe_globals=REFERENCE_TRAINING_GLOBALS),
        key_hint, str(path))
    if prefix:
        state = select_prefix(state, prefix, key_hint, str(path))
    state, layout = convert_swin_checkpoint(state, key_hint, str(path))
    allowed = [r'relative_position_index$']
    if layout == 'swin':
        last = len(backbone.stages) - 1
        allowed += [
            r'^det_token$', r'^det_pos_embed$', r'\.det_pos_linear\.',
            rf'^stages\.{last}\.downsample\.'
        ]
    load_state_dict_strict(
        backbone, state, key_hint, str(path), allowed_missing=allowed, layout=layout)
    return layout
