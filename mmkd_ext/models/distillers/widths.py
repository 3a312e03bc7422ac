"""Widths of connector configs: which are omitted, how a feature's width is read, and the
default input of the build-time dry run.

A connector width is one of :data:`IN_FIELDS` (``in_channels``, MMRazor's
``in_channel``, a normaliser's ``num_features``: the width of the connector's input)
or :data:`OUT_FIELDS` (``out_channels`` / ``out_channel``: the width it maps to). A
width is *omitted* when the config leaves out a required argument of that name or sets
it to ``None``; :class:`~.StrictConfigurableDistiller` then infers it from the models
(input widths from the recorded feature, output widths from the other side of the loss
the connector feeds).

Feature widths follow the connectors' layouts (``mmkd_ext/models/utils/
feature_layout.py``): channels are dim 1 of (N, C, H, W) maps and the last dim of (N, C)
vectors and (N, L, C) tokens.
"""
import inspect

import torch
from mmrazor.registry import MODELS

__all__ = [
    'IN_FIELDS', 'OUT_FIELDS', 'WidthError', 'feature_width', 'shape_of',
    'connector_class', 'omitted_fields', 'has_omitted', 'is_chain',
    'default_dry_run_shape', 'check_dry_run_shape', 'KEY', 'MODEL_KEYS', 'MISSING'
]

#: config key of the distiller in MMRazor algorithm configs
KEY = 'model.distiller'
#: config key of each side's model in MMRazor algorithm configs
MODEL_KEYS = dict(student='model.architecture', teacher='model.teacher')
#: a recorded value the dry run (``mode='tensor'``) does not reach
MISSING = object()

#: config fields that take the width of a connector's input
IN_FIELDS = ('in_channels', 'in_channel', 'num_features')
#: config fields that take the width a connector maps to
OUT_FIELDS = ('out_channels', 'out_channel')


class WidthError(ValueError):
    """A width in a config contradicts the models, or cannot be inferred from them.

    The message names the config key to change and both widths / shapes."""


def feature_width(x):
    """Channels of a feature (dim 1 of 4-d maps, else the last dim); None otherwise."""
    if not isinstance(x, torch.Tensor) or x.dim() < 2:
        return None
    return x.shape[1] if x.dim() == 4 else x.shape[-1]


def shape_of(x):
    """A short shape description of a record (tensor, tuple of tensors, other)."""
    if isinstance(x, torch.Tensor):
        return str(tuple(x.shape))
    if isinstance(x, (tuple, list)):
        return '(' + ', '.join(shape_of(v) for v in x) + (',)' if len(x) == 1 else ')')
    return type(x).__name__


def connector_class(cfg):
    """The class a connector config builds (MMRazor's registry, any scope prefix)."""
    kind = cfg.get('type') if isinstance(cfg, dict) else None
    if isinstance(kind, type):
        return kind
    cls = MODELS.get(kind) if isinstance(kind, str) else None
    if cls is None and isinstance(kind, str) and '.' not in kind:
        cls = MODELS.get(f'mmrazor.{kind}')
    return cls


def is_chain(cfg):
    """A list of connector configs (MMRazor's list form) or a config whose
    ``connectors`` is a list (``SequentialConnector``)."""
    return isinstance(
        cfg, (list, tuple)) or (isinstance(cfg, dict)
                                and isinstance(cfg.get('connectors'), (list, tuple)))


def omitted_fields(cfg):
    """``(in_fields, out_fields)`` that a leaf connector config omits."""
    cls = connector_class(cfg)
    if cls is None:
        return [], []
    try:
        params = inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):
        return [], []
    found = ([], [])
    for group, fields in zip(found, (IN_FIELDS, OUT_FIELDS)):
        for field in fields:
            if field not in params or cfg.get(field) is not None:
                continue
            if field in cfg or params[field].default is inspect.Parameter.empty:
                group.append(field)
    return found


def has_omitted(cfg, out_only=False):
    """Whether a connector config (or any element of a chain) omits a width."""
    if is_chain(cfg):
        elements = cfg if isinstance(cfg, (list, tuple)) else cfg['connectors']
        return any((isinstance(el, dict) or is_chain(el)) and has_omitted(el, out_only)
                   for el in elements)
    if not isinstance(cfg, dict):
        return False
    ins, outs = omitted_fields(cfg)
    return bool(outs) if out_only else bool(ins or outs)


def _size_of(module):
    size = getattr(module, 'img_size', None)
    if isinstance(size, int) and size > 0:
        return (size, size)
    if isinstance(size, (tuple, list)) and len(size) == 2 and all(
            isinstance(s, int) and s > 0 for s in size):
        return tuple(size)
    return None


def default_dry_run_shape(*models, batch=2, size=32):
    """``((N, C, H, W), origin)``: the dry run's input when ``dry_run_shape`` is None.

    * C: ``in_channels`` of the first ``Conv2d`` of the first model that has one
      (a CNN stem, a ViT patch embedding), else 3;
    * H, W: the ``img_size`` of the first module that declares one (ViT-style
      backbones, whose position embedding is sized for it), else ``size`` (32: every
      CIFAR / ImageNet CNN of the project reduces it to at least 1 x 1);
    * N: 2 (batch statistics such as a batch standardiser need two samples).
    """
    channels, hw, origin = None, None, []
    for model in models:
        for name, module in model.named_modules():
            if channels is None and isinstance(module, torch.nn.Conv2d):
                channels = module.in_channels
            if hw is None and _size_of(module) is not None:
                hw = _size_of(module)
                origin = [f'img_size of {name or type(model).__name__}']
            if channels is not None and hw is not None:
                break
    if hw is None:
        hw, origin = (size, size), [f'default {size}x{size}']
    channels = channels or 3
    return (batch, channels) + tuple(hw), ', '.join(origin)


def check_dry_run_shape(shape, key):
    """``None`` / ``False`` / a 4-sequence of positive ints (returned as a tuple)."""
    if shape is None or shape is False:
        return shape
    if isinstance(shape, (list, tuple)) and len(shape) == 4 and all(
            isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in shape):
        return tuple(shape)
    raise ValueError(f'{key} must be None (derived from the models), False (no dry run) '
                     f'or (N, C, H, W) positive ints, got {shape!r}')
