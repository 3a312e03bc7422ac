"""Checkpoint loading in one place: read, unwrap, rename, load strictly.

Every strict loader of mmkd_ext (teacher checkpoints, converters, analysis tools, frozen
GAN encoders, ViDT / Swin weights) goes through these functions, so each file is read
the same way (``weights_only=True`` via :func:`safe_torch_load`, which MMEngine's own
loader also uses: :func:`mmkd_ext.compat.patch_mmengine_local_loader`) and every failure
to find, read or fit weights raises one type, :class:`CheckpointError`, whose message
names the config key, the file and what did not fit.

Pipeline (:func:`load_checkpoint_strict`)::

    obj = read_checkpoint(path)                       # weights-only unpickling
    sd  = unwrap_state_dict(obj)                      # 'state_dict' / 'model' / flat
    sd  = revise_keys(sd, [(r'^module\\.', '')])       # MMEngine-style regex renames
    sd  = converter(sd)                               # optional layout converter
    load_state_dict_strict(model, sd, allowed_missing=[r'num_batches_tracked$'])

``revise_keys`` follows ``mmengine.runner.load_checkpoint(revise_keys=...)``;
:func:`select_prefix` follows MMEngine's ``_load_checkpoint_with_prefix``. Layout
converters (a function ``state_dict -> state_dict``) live next to the model they
serve, e.g. :func:`mmkd_ext.models.backbones.cifar_weights.convert_cifar_state_dict`.

A pickle that references a global outside the allowlist is refused on every route (ours
and MMEngine's ``load_from`` / ``resume`` / ``init_cfg``) with
:class:`UnsafeCheckpointError`, the one subclass of :class:`CheckpointError`; nothing
from such a file is executed (docs/reliability.md).
"""
import argparse
import os.path as osp
import pickle
import re
from collections import OrderedDict
from collections.abc import Mapping
from typing import Callable, Iterable, Optional, Sequence, Tuple

import torch

__all__ = [
    'CheckpointError', 'UnsafeCheckpointError', 'safe_torch_load', 'read_checkpoint',
    'unwrap_state_dict', 'revise_keys', 'select_prefix', 'load_state_dict_strict',
    'load_checkpoint_strict', 'DEFAULT_ALLOWED_MISSING', 'REFERENCE_TRAINING_GLOBALS'
]

#: Missing keys tolerated by default: BatchNorm batch counters (timm files omit them).
DEFAULT_ALLOWED_MISSING = (r'num_batches_tracked$', )


class CheckpointError(RuntimeError):
    """The one error of checkpoint loading: a file that is missing, unreadable, holds no
    state dict, or does not fit the model. Its message names the config key and file.

    Its one base is ``RuntimeError`` because that is what an OpenMMLab user already
    catches around loading: ``torch.load`` raises it for an unreadable file, and
    ``torch.nn.Module.load_state_dict(strict=True)`` and MMEngine's
    ``mmengine.runner.load_state_dict(strict=True)`` raise it for missing / unexpected
    keys and shape mismatches.
    """


class UnsafeCheckpointError(CheckpointError):
    """A checkpoint holds pickled objects outside the allowlist; nothing was executed."""


#: Types the training scripts of reference implementations pickle next to their
#: weights and that may be unpickled on top of MMEngine's: DETR / Deformable DETR / ViDT
#: ``main.py`` (naver-ai/vidt, roymiles/vkd ``vidt/main.py``) save their command line
#: as ``'args': argparse.Namespace`` (unpickling one only sets attributes).
REFERENCE_TRAINING_GLOBALS = (argparse.Namespace, )


def _refusal_reason(msg):
    """The informative line of torch's weights-only error (what was refused)."""
    boiler = ('Weights only load failed', 'Check the documentation', '(1)', '(2)')
    for line in msg.splitlines():
        line = line.strip().replace('WeightsUnpickler error:', '').strip()
        if line and not line.startswith(boiler):
            return line.split('. Please use')[0][:300]
    return 'unsupported pickled object'


def _first_line(err):
    return str(err).splitlines()[0] if str(err) else repr(err)


def safe_torch_load(filename, map_location='cpu', key_hint='checkpoint'):
    """``torch.load(weights_only=True)`` with errors that say what went wrong.

    The allowlist is MMEngine's checkpoint state
    (:func:`mmkd_ext.compat.allow_mmengine_checkpoint_types`).

    Args:
        filename (str): path of the file.
        map_location: as in :func:`torch.load`.
        key_hint (str): the config key or option the path came from, used in errors.

    Raises:
        CheckpointError: the file does not exist or is not a readable torch checkpoint
            (truncated, corrupt).
        UnsafeCheckpointError: the pickle references a global outside the allowlist
            (a malicious or non-MMEngine object); nothing from the file was executed.
    """
    filename = osp.expanduser(str(filename))
    if not osp.isfile(filename):
        raise CheckpointError(f'{key_hint}: checkpoint file "{filename}" does not exist.')
    try:
        return torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        msg = str(err)
        # 'Unsupported operand': not a pickle at all (corrupt), not a refused global
        if ('Weights only load failed' in msg or 'Unsupported' in msg) and \
                'Unsupported operand' not in msg:
            raise UnsafeCheckpointError(
                f'{key_hint}: refused to load "{filename}": it contains pickled '
                'objects that are not plain tensors / MMEngine state '
                f'({_refusal_reason(msg)}). Nothing from the file was executed. Only '
                'load checkpoints you trust; mmkd_ext always loads with '
                'weights_only=True.') from None
        raise CheckpointError(f'{key_hint}: "{filename}" is not a readable torch '
                              f'checkpoint ({_first_line(err)}).') from None
    except (RuntimeError, EOFError, ValueError, OSError, KeyError) as err:
        raise CheckpointError(
            f'{key_hint}: "{filename}" is not a readable torch checkpoint '
            f'(corrupted or truncated file?): {_first_line(err)}') from None


def read_checkpoint(path,
                    key_hint: str = 'checkpoint',
                    map_location='cpu',
                    extra_safe_globals: Sequence = ()):
    """:func:`safe_torch_load` with ``extra_safe_globals`` allowed for this read only,
    on top of the MMEngine allowlist (e.g. :data:`REFERENCE_TRAINING_GLOBALS`).

    Returns:
        The unpickled object (usually a dict).

    Raises:
        CheckpointError, UnsafeCheckpointError: as :func:`safe_torch_load`.
    """
    with torch.serialization.safe_globals(list(extra_safe_globals)):
        return safe_torch_load(path, map_location=map_location, key_hint=key_hint)


def _is_tensor_dict(obj) -> bool:
    return isinstance(obj, Mapping) and len(obj) > 0 and all(
        isinstance(v, torch.Tensor) for v in obj.values())


def unwrap_state_dict(ckpt,
                      key_hint: str = 'checkpoint',
                      filename: str = '',
                      keys: Sequence[str] = ('state_dict', 'model', 'model_ema')):
    """The ``{name: tensor}`` dict of a loaded checkpoint.

    Looks under each of ``keys`` in order (``'state_dict'``: MMEngine; ``'model'``:
    RepDistiller, DeiT, ViDT; ``'model_ema'``); a flat name -> tensor dict is returned
    as is.

    Raises:
        CheckpointError: ``ckpt`` is not a dict, or holds no tensor dict (the message
            lists its top-level keys).
    """
    if not isinstance(ckpt, Mapping):
        raise CheckpointError(
            f'{key_hint}: "{filename}" holds a {type(ckpt).__name__}, expected a dict '
            '(a state dict or a checkpoint with "state_dict" / "model").')
    for key in keys:
        if key in ckpt and _is_tensor_dict(ckpt[key]):
            return ckpt[key]
    if _is_tensor_dict(ckpt):
        return ckpt
    raise CheckpointError(
        f'{key_hint}: "{filename}" holds no state dict: expected one of '
        f'{[str(k) for k in keys]} or a flat name -> tensor dict; top-level keys: '
        f'{sorted(map(str, ckpt))[:20]}')


def revise_keys(state_dict, revise: Iterable[Tuple[str, str]] = ((r'^module\.', ''), )):
    """Rename keys with ``re.sub(pattern, repl, key)`` for each pair, in order.

    Same convention as ``mmengine.runner.load_checkpoint(revise_keys=...)``.

    Returns:
        OrderedDict: renamed state dict (values shared, not copied).
    """
    out = OrderedDict(state_dict)
    for pattern, repl in revise:
        out = OrderedDict((re.sub(pattern, repl, k), v) for k, v in out.items())
    return out


def select_prefix(state_dict,
                  prefix: str,
                  key_hint: str = 'checkpoint',
                  filename: str = ''):
    """The entries whose key starts with ``prefix``, prefix stripped (as MMEngine's
    ``_load_checkpoint_with_prefix``); an empty ``prefix`` returns all entries.

    Raises:
        CheckpointError: no key starts with ``prefix``.
    """
    if not prefix:
        return OrderedDict(state_dict)
    out = OrderedDict(
        (k[len(prefix):], v) for k, v in state_dict.items() if k.startswith(prefix))
    if not out:
        heads = sorted({k.split('.', 1)[0] + '.' for k in state_dict})
        raise CheckpointError(
            f'{key_hint}: no key of "{filename}" starts with "{prefix}" (top-level '
            f'names: {heads[:12]}; first keys: {list(state_dict)[:5]})')
    return out


def _fmt(names, limit=8):
    names = list(names)
    more = f' ... (+{len(names) - limit} more)' if len(names) > limit else ''
    return ', '.join(names[:limit]) + more


def load_state_dict_strict(model: torch.nn.Module,
                           state_dict,
                           key_hint='checkpoint',
                           filename: str = '',
                           allowed_missing: Sequence[str] = DEFAULT_ALLOWED_MISSING,
                           layout: str = ''):
    """Load ``state_dict`` into ``model`` after checking every name and shape.

    Model entries absent from the file are an error unless their name matches one of
    the ``allowed_missing`` regular expressions (``re.search``); those keep the model's
    current values. Unexpected names and shape mismatches are always errors.

    Args:
        model (nn.Module): target.
        state_dict (dict): name -> tensor, already in the model's names.
        key_hint (str): config key the file came from.
        filename (str): the file (named in errors).
        allowed_missing (seq of str): regexes of model keys the file may lack.
        layout (str): how the names were read (named in errors), e.g. ``'cifar'``.

    Raises:
        CheckpointError: missing / unexpected keys or shape mismatches, listed.
    """
    own = model.state_dict()
    allowed = [re.compile(p) for p in allowed_missing]
    missing = [
        k for k in own if k not in state_dict and not any(p.search(k) for p in allowed)
    ]
    unexpected = [k for k in state_dict if k not in own]
    mismatched = [
        f'{k}: file {tuple(state_dict[k].shape)} vs model '
        f'{tuple(own[k].shape)}' for k in own
        if k in state_dict and state_dict[k].shape != own[k].shape
    ]
    if missing or unexpected or mismatched:
        parts = []
        if missing:
            parts.append(f'{len(missing)} missing key(s): {_fmt(missing)}')
        if unexpected:
            parts.append(f'{len(unexpected)} unexpected key(s): {_fmt(unexpected)}')
        if mismatched:
            parts.append(f'{len(mismatched)} shape mismatch(es): {_fmt(mismatched, 5)}')
        read_as = f' (names read as layout "{layout}")' if layout else ''
        raise CheckpointError(
            f'{key_hint}: checkpoint "{filename}" does not fit '
            f'{type(model).__name__}{read_as}: ' + '; '.join(parts) +
            '. Check that the config builds the architecture the file was trained '
            'with.')
    full = OrderedDict(state_dict)
    for k, v in own.items():  # tolerated entries keep the model's values
        if k not in full:
            full[k] = v
    model.load_state_dict(full, strict=True)


def load_checkpoint_strict(model: torch.nn.Module,
                           path,
                           key_hint: str = 'checkpoint',
                           revise: Iterable[Tuple[str, str]] = ((r'^module\.', ''), ),
                           converter: Optional[Callable] = None,
                           allowed_missing: Sequence[str] = DEFAULT_ALLOWED_MISSING,
                           map_location='cpu',
                           layout: str = ''):
    """Read ``path``, unwrap, rename, convert, and load into ``model`` strictly.

    Args:
        model (nn.Module): target.
        path (str): checkpoint file.
        key_hint (str): config key the path came from (named in errors).
        revise (seq of (pattern, repl)): key renames, see :func:`revise_keys`.
        converter (callable, optional): ``state_dict -> state_dict`` layout converter
            applied after ``revise``.
        allowed_missing (seq of str): see :func:`load_state_dict_strict`.

    Returns:
        OrderedDict: the state dict that was loaded (after renaming / conversion).
    """
    state_dict = unwrap_state_dict(
        read_checkpoint(path, key_hint, map_location), key_hint, str(path))
    state_dict = revise_keys(state_dict, revise)
    if converter is not None:
        state_dict = converter(state_dict)
    load_state_dict_strict(model, state_dict, key_hint, str(path), allowed_missing,
                           layout)
    return state_dict
