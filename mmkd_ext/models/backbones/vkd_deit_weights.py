"""Weight layout of the VKD reference DeiT students -> our conv-stem DeiT classifier.

The VKD reference code (github:roymiles/vkd, ``train.py``) saves ``{'student':
student.state_dict(), 'student_ema': ..., 'optimizer': ..., 'epoch': ...}`` of its
``models/deit.py`` ``DistilledVisionTransformer`` (timm names), wrapped in DDP, so
every name starts with ``module.``; its loaders also accept that dict under
``'model'``. :func:`convert_vkd_deit` maps the names to an MMPretrain
``ImageClassifier`` with :class:`~.conv_stem_deit.ConvStemDistilledVisionTransformer`
and :class:`~mmkd_ext.models.heads.DeiTDistillClsHead`
(``configs/_base_/models/deit-distilled_in1k.py``: ``deit_{tiny,small}_convstem``):

* ``cls_token``, ``pos_embed`` -> ``backbone.cls_token``, ``backbone.pos_embed``;
* ``conv_embed.conv.{0,3,6}`` (convs) / ``conv_embed.conv.{1,4,7}`` (BNs) ->
  ``backbone.patch_embed.stem.{0,1,2}.conv`` / ``.bn``; ``conv_embed.proj`` ->
  ``backbone.patch_embed.projection``;
* ``blocks.i.{norm1, attn.qkv, attn.proj, norm2, mlp.fc1, mlp.fc2}`` ->
  ``backbone.layers.i.{ln1, attn.qkv, attn.proj, ln2, ffn.layers.0.0, ffn.layers.1}``;
* ``norm`` -> ``backbone.ln1``; ``head`` / ``head_dist`` -> ``head.layers.head`` /
  ``head.layers.head_dist``.

Dropped, each for a reason (:data:`VKD_DEIT_DROPPED`): ``projector.*``, the VKD
projector (``parametrizations.orthogonal(nn.Linear(C, 3024, bias=False))``, PyTorch's
Householder map for this non-square weight, entries ``parametrizations.weight.original``
and ``parametrizations.weight.0.base``), used only by the training loss; the test-time
network never reads it. Any other name is an error that lists it.
"""
import re
from collections import OrderedDict

import torch

from ..utils.checkpoint import CheckpointError

__all__ = ['VKD_DEIT_DROPPED', 'unwrap_vkd_deit', 'convert_vkd_deit', 'projector_note']

#: reference entries without a counterpart in the evaluated student -> why
VKD_DEIT_DROPPED = OrderedDict([
    (r'^projector\.',
     "the VKD projector (train.py: student.projector = parametrizations.orthogonal("
     "nn.Linear(C, teacher width, bias=False))) feeds only the training loss "
     "(engine.py); the test-time network (models/deit.py forward: the mean of both "
     "heads) never reads it"),
])
_DROPPED = [re.compile(p) for p in VKD_DEIT_DROPPED]

_STEM = {
    'conv.0': 'stem.0.conv',
    'conv.1': 'stem.0.bn',
    'conv.3': 'stem.1.conv',
    'conv.4': 'stem.1.bn',
    'conv.6': 'stem.2.conv',
    'conv.7': 'stem.2.bn',
    'proj': 'projection',
}
_BLOCK = {
    'norm1': 'ln1',
    'attn.qkv': 'attn.qkv',
    'attn.proj': 'attn.proj',
    'norm2': 'ln2',
    'mlp.fc1': 'ffn.layers.0.0',
    'mlp.fc2': 'ffn.layers.1',
}


def unwrap_vkd_deit(ckpt, key_hint='src', filename='', use_ema=False):
    """The student's state dict of a VKD DeiT checkpoint.

    Accepts ``{'student': sd, ...}`` (train.py), ``{'model': {'student': sd}}`` (what its
    loader also reads), ``{'model': sd}`` and a flat ``sd``; ``use_ema`` picks
    ``'student_ema'`` instead. DDP's ``module.`` prefix is removed.

    Raises:
        CheckpointError: no such state dict (the top-level keys are listed).
    """
    if not isinstance(ckpt, dict):
        raise CheckpointError(f'{key_hint}: "{filename}" holds a {type(ckpt).__name__}, '
                              "expected a dict such as {'student': state_dict}")
    if isinstance(ckpt.get('model'), dict) and 'student' in ckpt['model']:
        ckpt = ckpt['model']
    key = 'student_ema' if use_ema else 'student'
    if key in ckpt:
        state = ckpt[key]
    elif use_ema:
        raise CheckpointError(f'{key_hint}: "{filename}" has no "student_ema" entry '
                              f'(top-level keys: {sorted(map(str, ckpt))[:12]})')
    elif isinstance(ckpt.get('model'), dict):
        state = ckpt['model']
    else:
        state = ckpt
    if not isinstance(state, dict) or not state or not all(
            isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(
            f'{key_hint}: "{filename}" holds no VKD DeiT student state dict under '
            f'"{key}" / "model" (top-level keys: {sorted(map(str, ckpt))[:12]}; '
            f'"{key}" is {type(ckpt.get(key)).__name__})')
    return OrderedDict((k[len('module.'):] if k.startswith('module.') else k, v)
                       for k, v in state.items())


def vkd_deit_key_to_ours(name):
    """A reference student key (roymiles/vkd ``models/deit.py`` on timm, without
    ``module.``) -> ours, or ``None`` for keys we do not map (e.g. ``projector.*``)."""
    if name in ('cls_token', 'pos_embed'):
        return f'backbone.{name}'
    m = re.match(r'conv_embed\.(.+)\.(\w+)$', name)
    if m and m.group(1) in _STEM:
        return f'backbone.patch_embed.{_STEM[m.group(1)]}.{m.group(2)}'
    m = re.match(r'blocks\.(\d+)\.(.+)\.(weight|bias)$', name)
    if m and m.group(2) in _BLOCK:
        return f'backbone.layers.{m.group(1)}.{_BLOCK[m.group(2)]}.{m.group(3)}'
    m = re.match(r'norm\.(weight|bias)$', name)
    if m:
        return f'backbone.ln1.{m.group(1)}'
    m = re.match(r'(head|head_dist)\.(weight|bias)$', name)
    if m:
        return f'head.layers.{m.group(1)}.{m.group(2)}'
    return None


def convert_vkd_deit(state, key_hint='src', filename=''):
    """Reference DeiT student names (``module.`` already removed) -> ours.

    Returns:
        tuple: ``(converted OrderedDict, dropped OrderedDict)``; ``dropped`` holds the
        entries of :data:`VKD_DEIT_DROPPED` under their reference names.

    Raises:
        CheckpointError: entries matching no reference name (listed, with the file).
    """
    out, dropped, unknown = OrderedDict(), OrderedDict(), []
    for name, value in state.items():
        if any(p.search(name) for p in _DROPPED):
            dropped[name] = value
            continue
        key = vkd_deit_key_to_ours(name)
        if key is None:
            unknown.append(name)
        else:
            out[key] = value
    if unknown:
        raise CheckpointError(
            f'{key_hint}: "{filename}": {len(unknown)} unknown entries for the VKD DeiT '
            f'reference layout (roymiles/vkd models/deit.py DistilledVisionTransformer '
            f'with conv_embed / head_dist): {unknown[:10]}')
    return out, dropped


def projector_note(dropped):
    """One line on the dropped projector: its map and what it computes as stored.

    PyTorch's orthogonal parametrization (default ``use_trivialization=True``) stores
    ``original`` and ``0.base`` whatever the map; the map is PyTorch's default for the
    shape (reference: no ``orthogonal_map`` argument): Householder for a non-square
    weight. The Householder map multiplies column j by ``int(original[j, j])``; weight
    decay on ``original`` (the reference decays every 2-d parameter) moves that sign
    below 1 in magnitude after the first step, and ``int`` truncates it to 0.
    """
    orig = dropped.get('projector.parametrizations.weight.original')
    if orig is None:
        return f'{len(dropped)} projector entries dropped'
    out_dims, in_dims = orig.shape
    n = min(orig.shape)
    signs = orig.float().diagonal().trunc()
    zero = int((signs == 0).sum())
    m = 'matrix_exp' if out_dims == in_dims else 'householder'
    note = (f'{len(dropped)} projector entries dropped ({in_dims} -> {out_dims}, '
            f"PyTorch orthogonal parametrization, map '{m}' = PyTorch's default for "
            f"this shape")
    if m == 'householder':
        note += (f'; {zero} of its {n} sign entries truncate to 0, so the stored '
                 f'projector maps {zero} of {n} directions to zero')
    return note + ')'
