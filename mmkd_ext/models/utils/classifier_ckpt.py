"""Strict loading of classifier (teacher) checkpoints saved in other projects' layouts.

Layouts understood (chosen automatically by matching names against the model):

* ``mmengine``: ``{'state_dict': {...}}`` with the model's own names (MMPretrain /
  MMRazor checkpoints, and the output of ``tools/model_converters``).
* ``cifar``: the CIFAR-100 teachers of the CRD benchmark (RepDistiller / mdistiller),
  ``{'model': {...}}`` with the names of ``shared/design/checkpoint_layouts/cifar100``:
  backbone entries become ``backbone.<name>``; the classifier (``fc``, ``linear``,
  ``classifier`` or ``classifier.0``) becomes ``head.fc``. Target: an MMPretrain
  ``ImageClassifier`` with one of our CIFAR backbones and a ``LinearClsHead``.
* ``timm``: a timm state dict, either plain (timm's own files) or under ``'model'``
  (the DeiT teacher files, e.g. RegNetY-160); target: an MMPretrain ``TimmClassifier``
  (whose ``state_dict`` uses timm's names).

Every load is strict: missing keys, unexpected keys and shape mismatches raise a
``ValueError`` that names the config key, the file, the detected layout and the first
offending names. Files are read with :func:`mmkd_ext.compat.safe_torch_load`.
"""
from collections import OrderedDict
from collections.abc import Mapping

import torch

from mmkd_ext.compat import safe_torch_load

__all__ = [
    'CIFAR_ZOO', 'CLASSIFIER_PREFIXES', 'extract_state_dict',
    'convert_cifar_state_dict', 'adapt_state_dict', 'load_state_dict_strict',
    'load_classifier_checkpoint'
]

#: CRD-benchmark model name (as in the public checkpoints' file names) ->
#: (our backbone config, classifier name in those checkpoints, feature channels).
CIFAR_ZOO = {
    'resnet8x4': (dict(type='CIFARResNet', arch='resnet8x4'), 'fc', 256),
    'resnet32x4': (dict(type='CIFARResNet', arch='resnet32x4'), 'fc', 256),
    'resnet56': (dict(type='CIFARResNet', arch='resnet56'), 'fc', 64),
    'resnet110': (dict(type='CIFARResNet', arch='resnet110'), 'fc', 64),
    'ResNet50': (dict(type='CIFARResNetV2', arch='resnet50'), 'linear', 2048),
    'wrn_16_2': (dict(type='CIFARWideResNet', depth=16, widen_factor=2), 'fc', 128),
    'wrn_40_2': (dict(type='CIFARWideResNet', depth=40, widen_factor=2), 'fc', 128),
    'vgg8_bn': (dict(type='CIFARVGG', arch='vgg8'), 'classifier', 512),
    'vgg13_bn': (dict(type='CIFARVGG', arch='vgg13'), 'classifier', 512),
    'mobile_half': (dict(type='CIFARMobileNetV2', widen_factor=0.5), 'classifier.0',
                    1280),
    'ShuffleV1': (dict(type='CIFARShuffleNetV1', groups=3), 'linear', 960),
    'ShuffleV2': (dict(type='CIFARShuffleNetV2', net_size=1), 'linear', 1024),
}

#: Names of the final linear layer in the CIFAR checkpoints (most specific first).
CLASSIFIER_PREFIXES = ('classifier.0', 'classifier', 'linear', 'fc')

_WRAPPER_PREFIXES = ('module.', 'architecture.', 'teacher.')


def _is_tensor_dict(obj):
    return isinstance(obj, Mapping) and len(obj) > 0 and all(
        isinstance(v, torch.Tensor) for v in obj.values())


def extract_state_dict(ckpt, key_hint='checkpoint', filename=''):
    """Return ``(state_dict, container_key)`` from a loaded checkpoint object.

    Looks under ``'state_dict'`` (MMEngine), then ``'model'`` (RepDistiller, DeiT),
    then ``'model_ema'``; a flat ``{name: tensor}`` dict is returned as is.

    Raises:
        TypeError: the object is not a dict.
        KeyError: no tensor dict found; the message lists the top-level keys.
    """
    if not isinstance(ckpt, Mapping):
        raise TypeError(f'{key_hint}: "{filename}" holds a {type(ckpt).__name__}, '
                        'expected a dict (a state dict or a checkpoint with '
                        '"state_dict" / "model").')
    for key in ('state_dict', 'model', 'model_ema'):
        if key in ckpt and _is_tensor_dict(ckpt[key]):
            return ckpt[key], key
    if _is_tensor_dict(ckpt):
        return ckpt, None
    raise KeyError(f'{key_hint}: "{filename}" holds no state dict: expected '
                   '"state_dict" (MMEngine), "model" (RepDistiller / DeiT) or a flat '
                   f'name -> tensor dict; top-level keys: {sorted(map(str, ckpt))[:20]}')


def _classifier_prefix(state_dict):
    for prefix in CLASSIFIER_PREFIXES:
        if f'{prefix}.weight' in state_dict and \
                state_dict[f'{prefix}.weight'].dim() == 2:
            return prefix
    return None


def convert_cifar_state_dict(state_dict, head_prefix='head.fc.',
                             backbone_prefix='backbone.'):
    """Rename a RepDistiller / mdistiller CIFAR state dict to MMPretrain names.

    ``conv1.weight -> backbone.conv1.weight``, ``fc.weight -> head.fc.weight`` (also
    ``linear.*``, ``classifier.*``, ``classifier.0.*``). A ``module.`` prefix
    (DataParallel) is dropped.

    Raises:
        KeyError: no classifier weight (``fc`` / ``linear`` / ``classifier``) found.
    """
    state_dict = OrderedDict(
        (k[len('module.'):] if k.startswith('module.') else k, v)
        for k, v in state_dict.items())
    clf = _classifier_prefix(state_dict)
    if clf is None:
        raise KeyError('not a CIFAR classifier state dict: none of '
                       f'{[p + ".weight" for p in CLASSIFIER_PREFIXES]} (2-d) found')
    out = OrderedDict()
    for k, v in state_dict.items():
        if k.startswith(clf + '.') and k.count('.') == clf.count('.') + 1:
            out[head_prefix + k[len(clf) + 1:]] = v
        else:
            out[backbone_prefix + k] = v
    return out


def _candidates(state_dict):
    """(layout name, renamed state dict) for every layout the names could be in."""
    yield 'as-is', state_dict
    for prefix in _WRAPPER_PREFIXES + ('model.', ):
        if any(k.startswith(prefix) for k in state_dict):
            yield f'strip "{prefix}"', OrderedDict(
                (k[len(prefix):] if k.startswith(prefix) else k, v)
                for k, v in state_dict.items())
    if _classifier_prefix(state_dict) is not None and not any(
            k.startswith('backbone.') for k in state_dict):
        yield 'cifar (RepDistiller)', convert_cifar_state_dict(state_dict)


def adapt_state_dict(model, state_dict):
    """Pick the renaming under which ``state_dict`` matches ``model`` best.

    Returns:
        tuple: ``(layout, renamed_state_dict)``; ``layout`` names the renaming.
    """
    target = set(model.state_dict().keys())
    best = None
    for layout, cand in _candidates(state_dict):
        score = len(target.intersection(cand))
        if best is None or score > best[0]:
            best = (score, layout, cand)
    return best[1], best[2]


def _fmt(names, limit=8):
    names = list(names)
    more = f' ... (+{len(names) - limit} more)' if len(names) > limit else ''
    return ', '.join(names[:limit]) + more


def load_state_dict_strict(model, state_dict, key_hint='checkpoint', filename='',
                           layout=''):
    """Load ``state_dict`` into ``model`` after checking names and shapes.

    BatchNorm ``num_batches_tracked`` counters absent from the file are tolerated
    (timm files often omit them); nothing else is.

    Raises:
        ValueError: missing / unexpected keys or shape mismatches, listed.
    """
    own = model.state_dict()
    missing = [k for k in own if k not in state_dict
               and not k.endswith('num_batches_tracked')]
    unexpected = [k for k in state_dict if k not in own]
    mismatched = [f'{k}: file {tuple(state_dict[k].shape)} vs model '
                  f'{tuple(own[k].shape)}' for k in own
                  if k in state_dict and state_dict[k].shape != own[k].shape]
    if missing or unexpected or mismatched:
        parts = []
        if missing:
            parts.append(f'{len(missing)} missing key(s): {_fmt(missing)}')
        if unexpected:
            parts.append(f'{len(unexpected)} unexpected key(s): {_fmt(unexpected)}')
        if mismatched:
            parts.append(f'{len(mismatched)} shape mismatch(es): {_fmt(mismatched, 5)}')
        raise ValueError(
            f'{key_hint}: checkpoint "{filename}" does not fit '
            f'{type(model).__name__} (names read as layout "{layout}"): '
            + '; '.join(parts) + '. Check that the config builds the architecture '
            'the file was trained with (see mmkd_ext.models.utils.classifier_ckpt '
            'for the layouts understood).')
    full = OrderedDict(state_dict)
    for k, v in own.items():  # fill tolerated BN counters
        if k not in full:
            full[k] = v
    model.load_state_dict(full, strict=True)


def load_classifier_checkpoint(model, filename, key_hint='checkpoint',
                               map_location='cpu'):
    """Read ``filename`` (weights only), rename to ``model``'s names, load strictly.

    Args:
        model (nn.Module): e.g. an MMPretrain ``ImageClassifier`` with a CIFAR backbone
            or a ``TimmClassifier``.
        filename (str): checkpoint path.
        key_hint (str): config key the path came from (used in errors).

    Returns:
        str: the layout that matched (e.g. ``'cifar (RepDistiller)'``).
    """
    ckpt = safe_torch_load(filename, map_location=map_location, key_hint=key_hint)
    state_dict, _ = extract_state_dict(ckpt, key_hint, filename)
    layout, renamed = adapt_state_dict(model, state_dict)
    load_state_dict_strict(model, renamed, key_hint, filename, layout)
    return layout
