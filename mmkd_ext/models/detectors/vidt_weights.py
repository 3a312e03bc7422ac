"""Weight conversion for ViDT: official Swin ImageNet checkpoints and the ViDT
reference implementation's checkpoint layout (``shared/design/checkpoint_layouts/vidt``).

* Swin: MMDet's ``swin_converter`` (names + the unfold order of patch-merging weights:
  official Swin concatenates the 2x2 neighbours as x0,x1,x2,x3 = (0,0),(1,0),(0,1),(1,1)
  blocks of C channels, mmcv's ``PatchMerging`` unfolds channel-major c*4+k).
* ViDT reference -> ours: ``convert_vidt_reference`` (and the inverse
  ``to_vidt_reference``); the 91-way class branches indexed by COCO category id become
  MMDet's 80 contiguous labels (``COCO_IDS``).
"""
import re
from collections import OrderedDict


from mmkd_ext.compat import safe_torch_load

#: COCO category ids of MMDet's 80 contiguous labels, in label order.
COCO_IDS = [i for i in range(1, 91)
            if i not in (12, 26, 29, 30, 45, 66, 68, 69, 71, 83)]

#: reference entries that have no counterpart (unused in its forward or duplicates).
REFERENCE_UNUSED = (
    re.compile(r'^transformer\.level_embed$'),  # encoder-only in Deformable DETR
    re.compile(r'^transformer\.decoder\.bbox_embed\.'),  # shares bbox_embed.*
    re.compile(r'^backbone\.layers\.\d+\.downsample\.(expansion|norm2)\.'),
    re.compile(r'relative_position_index$'),  # constant buffer, rebuilt by the model
)

_DEC_LAYER = [  # (reference, ours) inside transformer.decoder.layers.k / decoder.layers.k
    ('cross_attn.', 'cross_attn.'), ('norm2.', 'norms.0.'), ('norm1.', 'norms.1.'),
    ('norm3.', 'norms.2.'), ('self_attn.', 'self_attn.attn.'),
    ('linear1.', 'ffn.layers.0.0.'), ('linear2.', 'ffn.layers.1.'),
]
_BLOCK = [('attn.', 'attn.w_msa.'), ('mlp.fc1.', 'ffn.layers.0.0.'),
          ('mlp.fc2.', 'ffn.layers.1.'), ('norm1.', 'norm1.'), ('norm2.', 'norm2.'),
          ('det_pos_linear.', 'det_pos_linear.')]
_BBOX = {'0': '0', '1': '2', '2': '4'}


def unfold_order(weight, inverse=False):
    """Reorder the 4C input axis of a patch-merging reduction (2-d) or norm (1-d)."""
    perm = [0, 2, 1, 3]  # self-inverse
    if weight.dim() == 2:
        out, cin = weight.shape
        if inverse:
            return weight.reshape(out, cin // 4, 4).transpose(1, 2)[:, perm].reshape(
                out, cin)
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


def _backbone_key(rest, value, inverse=False):
    """'layers.i....' (reference) <-> 'stages.i....' (ours); returns (key, value)."""
    if not inverse:
        m = re.match(r'layers\.(\d+)\.blocks\.(\d+)\.(.*)$', rest)
        if m:
            sub = _sub(m.group(3), _BLOCK)
            return (None if sub is None else
                    f'stages.{m.group(1)}.blocks.{m.group(2)}.{sub}'), value
        m = re.match(r'layers\.(\d+)\.downsample\.(reduction|norm)\.(.*)$', rest)
        if m:
            return (f'stages.{m.group(1)}.downsample.{m.group(2)}.{m.group(3)}',
                    unfold_order(value))
        if rest.startswith('patch_embed.proj.'):
            return 'patch_embed.projection.' + rest[len('patch_embed.proj.'):], value
        if re.match(r'(det_token|det_pos_embed|patch_embed\.norm\.|norm[123]\.)', rest):
            return rest, value
        return None, value
    m = re.match(r'stages\.(\d+)\.blocks\.(\d+)\.(.*)$', rest)
    if m:
        sub = _sub(m.group(3), [(b, a) for a, b in _BLOCK])
        return f'layers.{m.group(1)}.blocks.{m.group(2)}.{sub}', value
    m = re.match(r'stages\.(\d+)\.downsample\.(.*)$', rest)
    if m:
        return (f'layers.{m.group(1)}.downsample.{m.group(2)}',
                unfold_order(value, inverse=True))
    if rest.startswith('patch_embed.projection.'):
        return 'patch_embed.proj.' + rest[len('patch_embed.projection.'):], value
    return rest, value


def _proj_key(name, value, inverse=False):
    """tgt_proj / query_pos_proj: 1x1 conv + GN (ref) <-> Linear + GroupNorm (ours)."""
    mod, idx, param = name.split('.')
    if not inverse:
        if idx == '0':
            return f'{mod}.linear.{param}', value.flatten(1) if value.dim() == 4 else value
        return f'{mod}.norm.{param}', value
    if idx == 'linear':
        return f'{mod}.0.{param}', value[..., None, None] if value.dim() == 2 else value
    return f'{mod}.1.{param}', value


def convert_vidt_reference(ref_state, num_classes=80):
    """ViDT reference state dict -> ``ViDT`` (mmkd_ext) state dict.

    Raises:
        KeyError: entries that match no known reference name (listed).
    """
    if 'model' in ref_state and isinstance(ref_state['model'], dict):
        ref_state = ref_state['model']
    out, unknown = OrderedDict(), []
    for name, value in ref_state.items():
        if any(p.search(name) for p in REFERENCE_UNUSED):
            continue
        key = None
        if name.startswith('backbone.'):
            sub, value = _backbone_key(name[len('backbone.'):], value)
            key = None if sub is None else 'backbone.' + sub
        elif name.startswith('transformer.decoder.layers.'):
            m = re.match(r'transformer\.decoder\.layers\.(\d+)\.(.*)$', name)
            sub = _sub(m.group(2), _DEC_LAYER)
            key = None if sub is None else f'decoder.layers.{m.group(1)}.{sub}'
        elif name.startswith('transformer.reference_points.'):
            key = 'reference_points_fc.' + name.split('.')[-1]
        elif name.startswith('input_proj.'):
            lvl, idx, param = name.split('.')[1:]
            key = f'neck.convs.{lvl}.{"conv" if idx == "0" else "gn"}.{param}'
        elif name.startswith(('tgt_proj.', 'query_pos_proj.')):
            key, value = _proj_key(name, value)
        elif name.startswith('class_embed.'):
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
        raise KeyError(f'ViDT reference checkpoint: {len(unknown)} unknown entries '
                       f'(not a ViDT aux_loss+box_refine checkpoint?): {unknown[:10]}')
    return out


def to_vidt_reference(state, num_ref_classes=91):
    """Inverse of :func:`convert_vidt_reference` (dropped entries are not restored;
    class rows of unused COCO ids are zero)."""
    out = OrderedDict()
    inv_dec = [(b, a) for a, b in _DEC_LAYER]
    for name, value in state.items():
        if name.startswith('backbone.'):
            sub, value = _backbone_key(name[len('backbone.'):], value, inverse=True)
            if sub.startswith('cross_pos') or sub.endswith('relative_position_index'):
                continue
            out['backbone.' + sub] = value
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
            if value.shape[0] == 80:
                full = value.new_zeros((num_ref_classes, ) + value.shape[1:])
                full[COCO_IDS] = value
                value = full
            out[f'class_embed.{i}.{param}'] = value
        elif name.startswith('bbox_head.reg_branches.'):
            i, j, param = name.split('.')[2:]
            inv = {v: k for k, v in _BBOX.items()}
            out[f'bbox_embed.{i}.layers.{inv[j]}.{param}'] = value
        else:
            raise KeyError(f'to_vidt_reference: no reference name for "{name}"')
    return out


def load_vidt_reference(model, path, key_hint='checkpoint'):
    """Load a ViDT reference checkpoint into a ``ViDT`` model (strict, clear errors)."""
    state = convert_vidt_reference(safe_torch_load(path, key_hint=key_hint),
                                   model.bbox_head.num_classes)
    _strict_load(model, state, f'{key_hint} "{path}"',
                 allowed_missing=(r'relative_position_index$', ))


def _strict_load(module, state, what, allowed_missing=(), allowed_unexpected=()):
    own = module.state_dict()
    missing = [k for k in own if k not in state
               and not any(re.search(p, k) for p in allowed_missing)]
    unexpected = [k for k in state if k not in own
                  and not any(re.search(p, k) for p in allowed_unexpected)]
    if missing or unexpected:
        raise KeyError(f'{what}: {len(missing)} missing keys {missing[:8]}, '
                       f'{len(unexpected)} unexpected keys {unexpected[:8]}')
    bad = [f'{k}: checkpoint {tuple(v.shape)} vs model {tuple(own[k].shape)}'
           for k, v in state.items() if k in own and v.shape != own[k].shape]
    if bad:
        raise ValueError(f'{what}: shape mismatch (wrong arch?): {bad[:5]}')
    module.load_state_dict({k: v for k, v in state.items() if k in own}, strict=False)


def load_swin_imagenet(backbone, path, key_hint='model.backbone.pretrained'):
    """Load an official Swin ImageNet checkpoint into a ``ViDTSwinTransformer``.

    The [DET] tokens / position embeddings / ``det_pos_linear``, the output norms and
    the extra stride-64 merge are not in such checkpoints and keep their random init.
    """
    from mmdet.models.backbones.swin import swin_converter
    ckpt = safe_torch_load(path, key_hint=key_hint)
    for k in ('state_dict', 'model'):
        if k in ckpt and isinstance(ckpt[k], dict):
            ckpt = ckpt[k]
    if any(k.startswith('layers.') for k in ckpt):
        ckpt = swin_converter(ckpt)
    state = OrderedDict((k[len('backbone.'):] if k.startswith('backbone.') else k, v)
                        for k, v in ckpt.items())
    last = len(backbone.stages) - 1
    _strict_load(
        backbone, state, f'{key_hint} "{path}"',
        allowed_missing=(r'^det_token$', r'^det_pos_embed$', r'det_pos_linear\.',
                         r'^norm\d\.', rf'^stages\.{last}\.downsample\.',
                         r'relative_position_index$'),
        allowed_unexpected=(r'^norm\.', r'^head\.', r'relative_position_index',
                            r'attn_mask'))
