"""Strict loading of classifier (teacher) checkpoints saved in other projects' layouts.

Layouts understood (chosen automatically by matching names against the model):

* ``mmengine``: ``{'state_dict': {...}}`` with the model's own names (MMPretrain /
  MMRazor checkpoints, and the output of ``tools/model_converters``).
* ``cifar``: the CIFAR-100 teachers of the CRD benchmark (RepDistiller / mdistiller),
  ``{'model': {...}}``; converted by
  :func:`mmkd_ext.models.backbones.cifar_weights.convert_cifar_state_dict` (beside the
  CIFAR backbones). Target: an MMPretrain ``ImageClassifier`` with one of our CIFAR
  backbones and a ``LinearClsHead``.
* ``timm``: a timm state dict, either plain (timm's own files) or under ``'model'``
  (the DeiT teacher files, e.g. RegNetY-160); target: an MMPretrain ``TimmClassifier``,
  whose ``state_dict`` uses timm's names, so no conversion is needed.
* any of these behind a wrapper prefix (``module.``, ``architecture.``, ``teacher.``,
  ``model.``).

Reading, unwrapping and the strict load are those of :mod:`.checkpoint`: missing keys,
unexpected keys and shape mismatches raise :class:`~.checkpoint.CheckpointError` naming
the config key, the file, the detected layout and the first offending names.
"""
from ..backbones.cifar_weights import cifar_classifier_prefix, convert_cifar_state_dict
from .checkpoint import (load_state_dict_strict, read_checkpoint, revise_keys,
                         select_prefix, unwrap_state_dict)

__all__ = ['adapt_state_dict', 'load_classifier_checkpoint']

_WRAPPER_PREFIXES = ('module.', 'architecture.', 'teacher.', 'model.')


def _candidates(state_dict):
    """(layout name, renamed state dict) for every layout the names could be in."""
    yield 'as-is', state_dict
    for prefix in _WRAPPER_PREFIXES:
        if any(k.startswith(prefix) for k in state_dict):
            yield f'strip "{prefix}"', revise_keys(
                state_dict, [('^' + prefix.replace('.', r'\.'), '')])
    if cifar_classifier_prefix(state_dict) is not None and not any(
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


def load_classifier_checkpoint(model,
                               filename,
                               key_hint='checkpoint',
                               map_location='cpu',
                               prefix='',
                               allowed_missing=(r'num_batches_tracked$', )):
    """Read ``filename`` (weights only), rename to ``model``'s names, load strictly.

    Args:
        model (nn.Module): e.g. an MMPretrain ``ImageClassifier`` with a CIFAR backbone
            or a ``TimmClassifier``.
        filename (str): checkpoint path.
        key_hint (str): config key the path came from (used in errors).
        prefix (str): sub-model of a distillation checkpoint to take (e.g.
            ``'teacher.'``), used when the file has it (a converted file has not).
        allowed_missing (seq of str): model keys the file may lack (regexes).

    Returns:
        str: the layout that matched (e.g. ``'cifar (RepDistiller)'``).
    """
    state_dict = unwrap_state_dict(
        read_checkpoint(filename, key_hint, map_location), key_hint, filename)
    if prefix and any(k.startswith(prefix) for k in state_dict):
        state_dict = select_prefix(state_dict, prefix, key_hint, filename)
    layout, renamed = adapt_state_dict(model, state_dict)
    load_state_dict_strict(model, renamed, key_hint, filename, allowed_missing, layout)
    return layout
