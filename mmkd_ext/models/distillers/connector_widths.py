"""Connectors whose widths are inferred or checked on the dry-run features: a mixin of
:class:`~.StrictConfigurableDistiller`.

A connector config that omits a width (:func:`~.widths.has_omitted`) is held as a
:class:`PendingConnector` until :meth:`ConnectorWidthsMixin.apply_connector` sees the
feature that reaches it: input widths are read from that feature, output widths from
``target()`` (the other side of the loss the connector feeds), then the connector is
built. A connector built from given widths has them checked against the feature.
"""
import copy

from mmengine.logging import print_log
from torch import nn

from ..connectors.sequential_connector import SequentialConnector
from ..utils.razor_build import build_razor_module
from .widths import (IN_FIELDS, KEY, OUT_FIELDS, WidthError, feature_width, has_omitted,
                     is_chain, omitted_fields, shape_of)

__all__ = ['PendingConnector', 'ConnectorWidthsMixin']


class PendingConnector(nn.Module):
    """Stands in for a connector whose widths are inferred at build time (no
    parameters); replaced by the real connector when the algorithm prepares the
    distiller."""

    def __init__(self, key):
        super().__init__()
        self.key = key

    def forward(self, *args, **kwargs):
        raise RuntimeError(
            f'{self.key}: its widths were omitted and never inferred. The distiller '
            'infers them from the models when the algorithm calls prepare_from_student '
            'and prepare_from_teacher (MMRazor\'s SingleTeacherDistill does, when it is '
            'built); otherwise give in_channels / out_channels explicitly.')

    def extra_repr(self):
        return f'{self.key} (widths pending)'


def _children(module, key):
    """``[(config key, child)]`` of a built chain; None for a single connector."""
    if isinstance(module, nn.Sequential):
        return [(f'{key}[{i}]', c) for i, c in enumerate(module)]
    if isinstance(module, SequentialConnector):
        return [(f'{key}.connectors.{i}', c) for i, c in enumerate(module.connectors)]
    return None


def _apply(module, key, x, desc):
    try:
        return module(x)
    except Exception as err:
        raise WidthError(f'{key} ({type(module).__name__}) fails on {desc}, shape '
                         f'{shape_of(x)}: {type(err).__name__}: {err}') from err


class ConnectorWidthsMixin:
    """Builds ``connectors`` with pending widths and applies them with width checks.

    Expects ``self.inferred_widths`` (dict) and ``self.connectors`` (built)."""

    def build_connectors(self, connectors=None):
        """Build the connectors; those with omitted widths become
        :class:`PendingConnector` until the dry run infers them."""
        built = nn.ModuleDict()
        self._pending = {}
        for name, cfg in (connectors or {}).items():
            if has_omitted(cfg):
                self._pending[name] = copy.deepcopy(cfg)
                built[name] = PendingConnector(f'{KEY}.connectors.{name}')
            elif is_chain(cfg) and not isinstance(cfg, dict):
                built[name] = nn.Sequential(*[build_razor_module(c) for c in cfg])
            else:
                built[name] = build_razor_module(cfg)
        return built

    def _field_key(self, key, field):
        """Config key of a connector width (VKDDistiller names its feature pairs)."""
        return f'{key}.{field}'

    def _check_in_widths(self, key, widths, desc, x):
        """Given input widths (field -> int or None) against the feature ``x``."""
        w = feature_width(x)
        for field, given in widths.items():
            if isinstance(given, int) and w is not None and given != w:
                raise WidthError(
                    f'{self._field_key(key, field)}: {given} given, but {desc} gives '
                    f'{w} channels (shape {shape_of(x)}); set it to {w}, or omit it to '
                    'infer it')

    def _run_built(self, module, key, x, desc):
        """Check a built connector's input widths, then apply it."""
        children = _children(module, key)
        if children is not None:
            for ckey, child in children:
                x = self._run_built(child, ckey, x, desc)
                desc = f'{ckey} ({type(child).__name__})'
            return x
        self._check_in_widths(key, {f: getattr(module, f, None)
                                    for f in IN_FIELDS}, desc, x)
        return _apply(module, key, x, desc)

    def _build_chain(self, cfg, key, x, desc, target):
        listed = not isinstance(cfg, dict)
        modules = []
        for i, el in enumerate(cfg if listed else cfg['connectors']):
            ckey = f'{key}[{i}]' if listed else f'{key}.connectors.{i}'
            if isinstance(el, nn.Module):
                module, x = el, self._run_built(el, ckey, x, desc)
            elif has_omitted(el):
                module, x = self._build_pending(el, ckey, x, desc, target)
            else:
                module = build_razor_module(el).eval()
                x = self._run_built(module, ckey, x, desc)
            modules.append(module)
            desc = f'{ckey} ({type(module).__name__})'
        if listed:
            return nn.Sequential(*modules).eval(), x
        return build_razor_module(dict(cfg, connectors=modules)).eval(), x

    def _build_pending(self, cfg, key, x, desc, target):
        """Fill the omitted widths of ``cfg`` from the input ``x`` (and ``target()``
        for output widths), build it, apply it; returns (module, output)."""
        if is_chain(cfg):
            return self._build_chain(cfg, key, x, desc, target)
        cfg = copy.deepcopy(cfg)
        ins, outs = omitted_fields(cfg)
        self._check_in_widths(key, {f: cfg.get(f)
                                    for f in IN_FIELDS if f not in ins}, desc, x)
        w = feature_width(x)
        for field in ins:
            if w is None:
                raise WidthError(
                    f'{self._field_key(key, field)} cannot be inferred: {desc} gives '
                    f'{shape_of(x)}, not one tensor (select one with data_idx, or '
                    'give the width)')
            self._inferred(key, field, w, desc)
            cfg[field] = w
        for field in outs:
            t, tdesc = target()
            if t is None:
                raise WidthError(
                    f'{self._field_key(key, field)} cannot be inferred: {tdesc}; '
                    'give it')
            self._inferred(key, field, t, tdesc)
            cfg[field] = t
        module = build_razor_module(cfg).eval()  # no running statistics updated
        return module, _apply(module, key, x, desc)

    def _inferred(self, key, field, value, desc):
        full = self._field_key(key, field)
        self.inferred_widths[full] = value
        print_log(f'{full} = {value} (inferred from {desc})', logger='current')

    def apply_connector(self, name, x, desc, target=None):
        """Run connector ``name`` on ``x`` (building it first when its widths are
        pending); returns (output, description)."""
        key = f'{KEY}.connectors.{name}'
        if name not in self.connectors:
            raise WidthError(f'{key} is used in {KEY}.loss_forward_mappings but not '
                             f'defined in {KEY}.connectors ({sorted(self.connectors)})')
        if name in self._pending:
            target = target or (lambda: (None, 'nothing else reaches this loss'))
            module, x = self._build_pending(self._pending.pop(name), key, x, desc, target)
            self.connectors[name] = module
        else:
            x = self._run_built(self.connectors[name], key, x, desc)
        module = self.connectors[name]
        origin = self._out_origin(module, key)
        origin = f', {self._field_key(*origin[:2])}={origin[2]}' if origin else ''
        return x, f'{desc} -> {key} ({type(module).__name__}{origin})'

    def _out_origin(self, module, key):
        """``(key, field, value)`` of the last output width a connector sets."""
        children = _children(module, key)
        if children is not None:
            found = None
            for ckey, child in children:
                found = self._out_origin(child, ckey) or found
            return found
        for field in OUT_FIELDS + IN_FIELDS[2:]:
            value = getattr(module, field, None)
            if isinstance(value, int):
                return key, field, value
        return None
