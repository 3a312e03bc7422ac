"""Weight layout of the ViDT reference implementation <-> our :class:`ViDT` detector.

The reference (naver-ai/vidt, branch main: ``methods/swin_w_ram.py``,
``methods/vidt/detector.py``, ``methods/vidt/deformable_transformer.py``; method
``vidt`` with ``aux_loss`` and ``with_box_refine``) saves ``{'model': state_dict}`` with
the names listed in ``tests/data/checkpoint_layouts/vidt/*.txt``.
:func:`convert_vidt_reference` maps them to ours (the backbone part through
:func:`mmkd_ext.models.backbones.vidt_swin_weights.swin_reference_to_ours`):

* decoder layer ``norm2 / norm1 / norm3`` (after self-attn / cross-attn / FFN) ->
  MMDet ``norms.0 / 1 / 2``, ``self_attn`` -> ``self_attn.attn``, ``linear1/2`` ->
  ``ffn``;
* ``input_proj.l.{0,1}`` (1x1 conv + GN) -> ``neck.convs.l.{conv,gn}`` (ChannelMapper);
* ``tgt_proj`` / ``query_pos_proj`` (1x1 conv + GN) -> Linear + GroupNorm;
* ``transformer.reference_points`` -> ``reference_points_fc``;
* ``class_embed.k`` (91 logits indexed by COCO category id, 0 and the 10 unused ids
  included) -> ``bbox_head.cls_branches.k`` with MMDet's 80 contiguous labels
  (:data:`COCO_IDS`); ``bbox_embed.k.layers.{0,1,2}`` -> ``reg_branches.k.{0,2,4}``.

Entries without a counterpart are dropped by name, each for a reason read in the
reference code (:data:`REFERENCE_UNUSED`), and so are (with a log line) the six VKD
projectors a published VKD ViDT checkpoint (roymiles/vkd) carries
(:mod:`.vidt_vkd_weights`); any other unknown name is an error.
:func:`load_vidt_checkpoint` is what ``ViDT.init_weights`` uses for ``init_cfg=dict(
type='Pretrained', checkpoint=...)``: a reference checkpoint is converted, one of ours
(MMEngine ``state_dict``) is loaded as is, both strictly.
"""
import re
from collections import OrderedDict

from mmengine.logging import print_log

from ..backbones.vidt_swin_weights import (SWIN_REFERENCE_UNUSED, swin_ours_to_reference,
                                           swin_reference_to_ours, unfold_order)
from ..utils.checkpoint import (REFERENCE_TRAINING_GLOBALS, CheckpointError,
                                load_state_dict_strict, read_checkpoint, select_prefix,
                                unwrap_state_dict)
from .vidt_vkd_weights import VKD_PROJECTOR_REASON, split_vkd_projectors

__all__ = [
    'COCO_IDS', 'REFERENCE_UNUSED', 'convert_vidt_reference', 'to_vidt_reference',
    'is_vidt_reference', 'load_vidt_checkpoint', 'load_vidt_reference', 'unfold_order'
]

#: COCO category ids of MMDet's 80 contiguous labels, in label order.
COCO_IDS = [i for i in range(1, 91) if i not in (12, 26, 29, 30, 45, 66, 68, 69, 71, 83)]

#: reference entries with no counterpart in our model -> why (read in the reference).
REFERENCE_UNUSED = OrderedDict([
    (r'^transformer\.level_embed$',
     'level embedding of the Deformable DETR encoder, which ViDT removed (never read '
     'in DeformableTransformer.forward)'),
    (r'^transformer\.decoder\.bbox_embed\.',
     'the same modules as bbox_embed.* (with_box_refine hack: '
     'transformer.decoder.bbox_embed = self.bbox_embed)'),
    *[(r'^backbone\.' + (p[1:] if p.startswith('^') else '.*' + p), why)
      for p, why in SWIN_REFERENCE_UNUSED.items()],
])
_UNUSED = [re.compile(p) for p in REFERENCE_UNUSED]

_DEC_LAYER = [  # (reference, ours) inside transformer.decoder.layers.k / decoder.layers.k
    ('cross_attn.', 'cross_attn.'),
    ('norm2.', 'norms.0.'),
    ('norm1.', 'norms.1.'),
    ('norm3.', 'norms.2.'),
    ('self_attn.', 'self_attn.attn.'),
    ('linear1.', 'ffn.layers.0.0.'),
    ('linear2.', 'ffn.layers.1.'),
]
_BBOX = {'0': '0', '1': '2', '2': '4'}


def _sub(name, table):
    for old, new in table:
        if name.startswith(old):
            return new + name[len(old):]
    return None


def _proj_key(name, value, inverse=False):
    """tgt_proj / query_pos_proj: 1x1 conv + GN (ref) <-> Linear + GroupNorm (ours)."""
    mod, idx, param = name.split('.')
    if not inverse:
        if idx == '0':
            return f'{mod}.linear.{param}', value.flatten(
                1) if value.dim() == 4 else value
        return f'{mod}.norm.{param}', value
    if idx == 'linear':
        return f'{mod}.0.{param}', value[..., None, None] if value.dim() == 2 else value
    return f'{mod}.1.{param}', value


def is_vidt_reference(state):
    """True for a state dict in the reference layout (not ours)."""
    return any(
        k.startswith(('transformer.', 'class_embed.', 'input_proj.')) for k in state)


def convert_vidt_reference(ref_state, num_classes=80, key_hint='checkpoint', filename=''):
    """ViDT reference state dict (or ``{'model': state_dict}``) -> ``ViDT`` state dict.

    Args:
        num_classes (int): classes of the target model; 80 maps the reference's 91
            COCO-id logits to MMDet's labels (:data:`COCO_IDS`), anything else keeps
            the rows as they are (then the strict load reports a mismatch).

    Raises:
        CheckpointError: entries that match no known reference name (listed).
    """
    if 'model' in ref_state and isinstance(ref_state['model'], dict):
        ref_state = ref_state['model']
    ref_state, projectors = split_vkd_projectors(ref_state)
    if projectors:
        n = sum(len(v) for v in projectors.values())
        print_log(
            f'{key_hint}: "{filename}": dropped {n} entries of {len(projectors)} VKD '
            f'projectors ({", ".join(projectors)}): {VKD_PROJECTOR_REASON}',
            logger='current')
    out, unknown, backbone = OrderedDict(), [], OrderedDict()
    for name, value in ref_state.items():
        if any(p.search(name) for p in _UNUSED):
            continue
        key = None
        if name.startswith('backbone.'):
            backbone[name[len('backbone.'):]] = value
            continue
        elif name.startswith('transformer.decoder.layers.'):
            m = re.match(r'transformer\.decoder\.layers\.(\d+)\.(.*)$', name)
            sub = _sub(m.group(2), _DEC_LAYER)
            key = None if sub is None else f'decoder.layers.{m.group(1)}.{sub}'
        elif re.match(r'transformer\.reference_points\.(weight|bias)$', name):
            key = 'reference_points_fc.' + name.split('.')[-1]
        elif re.match(r'input_proj\.\d+\.[01]\.(weight|bias)$', name):
            lvl, idx, param = name.split('.')[1:]
            key = f'neck.convs.{lvl}.{"conv" if idx == "0" else "gn"}.{param}'
        elif re.match(r'(tgt_proj|query_pos_proj)\.[01]\.(weight|bias)$', name):
            key, value = _proj_key(name, value)
        elif re.match(r'class_embed\.\d+\.(weight|bias)$', name):
            i, param = name.split('.')[1:]
            key = f'bbox_head.cls_branches.{i}.{param}'
            if value.shape[0] == 91 and num_classes == 80:
                value = value[COCO_IDS]
        elif name.startswith('bbox_embed.'):
            m = re.match(r'bbox_embed\.(\d+)\.layers\.(\d)\.(.*)$', name)
            if m and m.group(2) in _BBOX:
                key = (f'bbox_head.reg_branches.{m.group(1)}.{_BBOX[m.group(2)]}.'
                       f'{m.group(3)}')
        if key is None:
            unknown.append(name)
            continue
        out[key] = value
    if unknown:
        raise CheckpointError(
            f'{key_hint}: "{filename}": {len(unknown)} unknown entries for the ViDT '
            f'reference layout (not a ViDT aux_loss+box_refine checkpoint?): '
            f'{unknown[:10]}')
    for k, v in swin_reference_to_ours(
            backbone, key_hint, filename, name_prefix='backbone.').items():
        out['backbone.' + k] = v
    return out


def to_vidt_reference(state, num_ref_classes=91, complete=False):
    """Inverse of :func:`convert_vidt_reference`.

    Class rows of COCO ids without an MMDet label are zero. With ``complete=True`` the
    entries the reference has but never uses (:data:`REFERENCE_UNUSED`) are added as
    well (identity LayerNorms, zero ``expansion`` / ``level_embed``, the shared
    ``transformer.decoder.bbox_embed`` copies, the constant index buffers), so the
    result has exactly the reference's names and shapes and loads strictly into the
    reference code; without it they are left out.
    """
    out, backbone = OrderedDict(), OrderedDict()
    inv_dec = [(b, a) for a, b in _DEC_LAYER]
    inv_bbox = {v: k for k, v in _BBOX.items()}
    for name, value in state.items():
        if name.startswith('backbone.'):
            backbone[name[len('backbone.'):]] = value
        elif name.startswith('decoder.layers.'):
            m = re.match(r'decoder\.layers\.(\d+)\.(.*)$', name)
            out[f'transformer.decoder.layers.{m.group(1)}.'
                f'{_sub(m.group(2), inv_dec)}'] = value
        elif name.startswith('reference_points_fc.'):
            out['transformer.reference_points.' + name.split('.')[-1]] = value
        elif name.startswith('neck.convs.'):
            lvl, mod, param = name.split('.')[2:]
            out[f'input_proj.{lvl}.{0 if mod == "conv" else 1}.{param}'] = value
        elif name.startswith(('tgt_proj.', 'query_pos_proj.')):
            key, value = _proj_key(name, value, inverse=True)
            out[key] = value
        elif name.startswith('bbox_head.cls_branches.'):
            i, param = name.split('.')[2:]
            if value.shape[0] == 80 and num_ref_classes == 91:
                full = value.new_zeros((num_ref_classes, ) + value.shape[1:])
                full[COCO_IDS] = value
                value = full
            out[f'class_embed.{i}.{param}'] = value
        elif name.startswith('bbox_head.reg_branches.'):
            i, j, param = name.split('.')[2:]
            out[f'bbox_embed.{i}.layers.{inv_bbox[j]}.{param}'] = value
        else:
            raise CheckpointError(f'to_vidt_reference: no reference name for "{name}"')
    ref_backbone = swin_ours_to_reference(backbone, complete=complete)
    if not complete:
        out.update(('backbone.' + k, v) for k, v in ref_backbone.items())
        return out
    # reference state_dict() order: transformer, class/bbox embeds, backbone, projections
    full = OrderedDict()
    dec = sorted(
        ((k, v) for k, v in out.items() if k.startswith('transformer.decoder.layers.')),
        key=_dec_rank)
    like = dec[0][1]
    width = out['transformer.reference_points.weight'].shape[1]
    full['transformer.level_embed'] = like.new_zeros(
        sum(k.endswith('.0.weight') and k.startswith('input_proj.') for k in out), width)
    full.update(dec)
    bbox = [(k, v) for k, v in out.items() if k.startswith('bbox_embed.')]
    full.update(('transformer.decoder.' + k, v) for k, v in bbox)
    full.update(
        (k, v) for k, v in out.items() if k.startswith('transformer.reference_points.'))
    full.update((k, v) for k, v in out.items() if k.startswith('class_embed.'))
    full.update(bbox)
    full.update(('backbone.' + k, v) for k, v in ref_backbone.items())
    full.update((k, v) for k, v in out.items()
                if k.startswith(('input_proj.', 'tgt_proj.', 'query_pos_proj.')))
    return full


_DEC_ORDER = ('cross_attn.', 'norm1.', 'self_attn.', 'norm2.', 'linear1.', 'linear2.',
              'norm3.')  # reference DeformableTransformerDecoderLayer


def _dec_rank(item):
    m = re.match(r'transformer\.decoder\.layers\.(\d+)\.(.*)$', item[0])
    return int(m.group(1)), next(i for i, p in enumerate(_DEC_ORDER)
                                 if m.group(2).startswith(p))


def load_vidt_checkpoint(model, path, key_hint='model.init_cfg.checkpoint', prefix=None):
    """Load a reference or an mmkd_ext ViDT checkpoint into ``model`` strictly.

    Returns:
        str: ``'vidt_reference'`` or ``'mmkd'`` (the layout read).

    Raises:
        CheckpointError: unknown / missing entries or shape mismatches, listed.
    """
    state = _read(path, key_hint)
    if prefix:
        state = select_prefix(state, prefix, key_hint, str(path))
    state = OrderedDict((k[len('module.'):] if k.startswith('module.') else k, v)
                        for k, v in state.items())
    layout = 'mmkd'
    if is_vidt_reference(state):
        layout = 'vidt_reference'
        state = convert_vidt_reference(state, model.bbox_head.num_classes, key_hint,
                                       str(path))
    _load(model, state, key_hint, path, layout)
    return layout


def _read(path, key_hint):
    """The state dict of a ViDT file (reference ``main.py`` files pickle their args)."""
    return unwrap_state_dict(
        read_checkpoint(path, key_hint, extra_safe_globals=REFERENCE_TRAINING_GLOBALS),
        key_hint, str(path))


def _load(model, state, key_hint, path, layout):
    # relative_position_index: a buffer that Swin builds itself (not in every file)
    load_state_dict_strict(model, state, key_hint, str(path),
                           (r'relative_position_index$', ), layout)


def load_vidt_reference(model, path, key_hint='checkpoint'):
    """Load a ViDT reference checkpoint into a ``ViDT`` model (strict, clear errors).

    The file is read (and refused if unsafe) before the model is touched.
    """
    state = _read(path, key_hint)
    state = convert_vidt_reference(state, model.bbox_head.num_classes, key_hint,
                                   str(path))
    _load(model, state, key_hint, path, 'vidt_reference')
