"""The six VKD projectors of a published VKD ViDT checkpoint (github:roymiles/vkd).

The authors' ViDT training (roymiles/vkd ``vidt/main.py``) attaches six
``OrthogonalLinear(256, 256)`` modules to the naver-ai ViDT detector and saves them
with it (``{'model': state_dict}``)::

    OrthogonalLinear: y = (x @ P^T) * weight + bias,
        P = parametrizations.orthogonal(nn.Linear(256, 256, bias=False)).weight

each stored as ``<name>.projector.parametrizations.weight.original`` (256, 256),
``<name>.projector.parametrizations.weight.0.base`` (256, 256), ``<name>.weight``
(256,, the per-channel scale) and ``<name>.bias`` (256,). They act on the
distillation tokens only (roymiles/vkd ``vidt/methods/vidt/detector.py``, ``if
self.has_projections``); the detection outputs never read them, so converting the
detector drops them (:func:`split_vkd_projectors`).

Which orthogonal map: PyTorch's parametrization with its default
``use_trivialization=True`` stores ``original`` and ``0.base`` for every map
(matrix_exp, cayley, householder), so the entries name none; the map is PyTorch's
default for the shape, since the reference passes no ``orthogonal_map``: ``matrix_exp``
for these square weights (``householder`` for non-square ones, e.g. the DeiT
projector). :func:`reference_orthogonal_weight` rebuilds P with PyTorch's own
parametrization from the two entries (``base @ matrix_exp(A)``, A the skew part of
``original``'s lower triangle).

:data:`VKD_PROJECTOR_PAIRS` maps them onto the feature pairs of
``configs/_base_/distill/vidt_vkd.py`` (connector ``<pair>_s_conn``, whose
``OrthogonalConnector`` with ``learnable_scale_bias`` is the same function):
:func:`projectors_to_connectors` writes P in the connector's own parametrization
(checked: the connector's ``weight`` equals P) and copies scale and bias.
"""
import re
from collections import OrderedDict

import torch
from torch import nn
from torch.nn.utils import parametrizations

from ..utils.checkpoint import CheckpointError

__all__ = [
    'VKD_PROJECTOR_PAIRS', 'VKD_PROJECTOR_REASON', 'split_vkd_projectors',
    'default_orthogonal_map', 'reference_orthogonal_weight', 'set_orthonormal',
    'projectors_to_connectors'
]

#: reference projector -> feature pair of configs/_base_/distill/vidt_vkd.py (what it
#: projects: roymiles/vkd vidt/methods/vidt/detector.py)
VKD_PROJECTOR_PAIRS = OrderedDict([
    ('patch_projector_1', 'vkd_p0'),  # input_proj level 0 (our neck output 0)
    ('patch_projector_2', 'vkd_p1'),
    ('patch_projector_3', 'vkd_p2'),
    ('patch_projector_4', 'vkd_p3'),
    ('body_det_projector', 'vkd_det'),  # backbone [DET] tokens after tgt_proj
    ('neck_det_projector', 'vkd_dec'),  # the decoder states (hs)
])
VKD_PROJECTOR_REASON = (
    'the VKD projectors (roymiles/vkd vidt/main.py OrthogonalLinear) act on the '
    'distillation tokens only (vidt/methods/vidt/detector.py, has_projections); the '
    'detection outputs never read them, so an evaluation needs the detector alone. '
    'tools/model_converters/vidt_to_mmkd.py --projectors OUT maps them onto the '
    "connectors of configs/_base_/distill/vidt_vkd.py")
_PROJ = re.compile(r'^(' + '|'.join(VKD_PROJECTOR_PAIRS) + r')\.(.+)$')
_ENTRIES = ('projector.parametrizations.weight.original',
            'projector.parametrizations.weight.0.base', 'weight', 'bias')


def split_vkd_projectors(state):
    """``(detector entries, {projector: {entry: tensor}})``; a projector entry that is
    not one of OrthogonalLinear's four is left with the detector entries (and then
    reported as unknown by the converter)."""
    rest, found = OrderedDict(), OrderedDict()
    for name, value in state.items():
        m = _PROJ.match(name)
        if m and m.group(2) in _ENTRIES:
            found.setdefault(m.group(1), OrderedDict())[m.group(2)] = value
        else:
            rest[name] = value
    return rest, found


def default_orthogonal_map(shape):
    """PyTorch's default map for a real weight of ``shape`` (out, in)."""
    return 'matrix_exp' if shape[-1] == shape[-2] else 'householder'


def reference_orthogonal_weight(entries, orthogonal_map=None, key=''):
    """P (out, in), float32, from ``parametrizations.weight.original`` (and ``0.base``)
    through PyTorch's own orthogonal parametrization (evaluated in float64).

    Args:
        entries (dict): ``{'original': T, 'base': T or absent}``.
        orthogonal_map (str, optional): default: PyTorch's for the shape.
        key (str): the entries' name prefix (named in errors).

    Returns:
        tuple: ``(P, map used)``.
    """
    orig = entries['original'].float()
    out_dims, in_dims = orig.shape
    used = orthogonal_map or default_orthogonal_map(orig.shape)
    base = entries.get('base')
    lin = nn.Linear(in_dims, out_dims, bias=False)
    parametrizations.orthogonal(
        lin, orthogonal_map=used, use_trivialization=base is not None)
    own = {'parametrizations.weight.original': orig}
    if base is not None:
        n = max(out_dims, in_dims)
        if tuple(base.shape) != (n, n):
            raise CheckpointError(f'{key}.projector.parametrizations.weight.0.base: '
                                  f'shape {tuple(base.shape)}, expected ({n}, {n}) '
                                  f'for a {out_dims} x {in_dims} weight')
        own['parametrizations.weight.0.base'] = base.float()
    lin.load_state_dict(own, strict=True)
    lin.double()  # the map in float64: P orthonormal to ~1e-15 before the cast
    with torch.no_grad():
        return lin.weight.detach().float(), used


def _orthogonal_connector(module, key):
    from ..connectors.orthogonal_connector import OrthogonalConnector
    found = [(n, m) for n, m in module.named_modules()
             if isinstance(m, OrthogonalConnector)]
    if len(found) != 1:
        raise CheckpointError(f'{key}: expected exactly one OrthogonalConnector, found '
                              f'{[n for n, _ in found]}')
    return found[0]


def _torch_entries(conn):
    """``(original, base)`` of a connector on PyTorch's parametrization."""
    param = conn.proj.parametrizations.weight
    return param.original, param[0].base


def set_orthonormal(conn, P, source=None, source_map=None, atol=1e-4):
    """Make ``conn.weight`` (an ``OrthogonalConnector``) equal the orthonormal ``P``.

    Gram maps (``cholesky_qr`` / ``polar`` / ``newton_schulz``): ``raw_weight = P``
    (an orthonormal matrix is its own Q / polar factor). ``stiefel_exp``: base point P,
    zero tangent. ``householder``: base = an orthogonal completion of P, zero
    reflectors. PyTorch's ``matrix_exp`` / ``cayley``: the file's own ``original`` and
    ``base`` when ``source_map`` is the same map (the parametrization continues
    exactly), else ``proj.weight = P`` (PyTorch's right inverse).

    Raises:
        CheckpointError: the result differs from P by more than ``atol``.
    """
    from ..utils.orthogonal import complete_orthogonal
    kind = conn.parametrization
    tall = P if P.shape[0] >= P.shape[1] else P.mT
    with torch.no_grad():
        if kind in ('cholesky_qr', 'polar', 'newton_schulz'):
            conn.raw_weight.copy_(P)
        elif kind == 'stiefel_exp':
            conn.base.copy_(tall)
            conn.omega.zero_()
            conn.tangent.zero_()
        elif kind == 'householder':
            conn.base.copy_(complete_orthogonal(tall.contiguous()))
            conn.signs.fill_(-1.0)
            conn.reflectors.zero_()
        elif source is not None and source_map == kind and \
                source['original'].shape == _torch_entries(conn)[0].shape:
            original, base = _torch_entries(conn)
            original.copy_(source['original'])
            base.copy_(source['base'])
        else:
            conn.proj.weight = P
        err = (conn.weight.detach().float() - P).abs().max().item()
    if err > atol:
        raise CheckpointError(f'OrthogonalConnector ({kind}): could not represent the '
                              f'projector (max error {err:.2e})')
    return err


def projectors_to_connectors(projectors, distiller, orthogonal_map=None, filename=''):
    """The six reference projectors as entries of ``distiller.connectors``.

    Args:
        projectors (dict): ``{name: {entry: tensor}}`` of :func:`split_vkd_projectors`.
        distiller: a built ``VKDDistiller`` (connectors with their widths).
        orthogonal_map (str, optional): the file's map; default PyTorch's for the shape.

    Returns:
        tuple: ``(state dict with 'distiller.connectors.' names, log lines)``.

    Raises:
        CheckpointError: a projector or one of its entries is missing, a pair is not
            in the distiller, or the widths differ (all named).
    """
    missing = [n for n in VKD_PROJECTOR_PAIRS if n not in projectors]
    if missing:
        raise CheckpointError(f'"{filename}": VKD projectors {missing} are missing '
                              f'(found {sorted(projectors)})')
    out, lines = OrderedDict(), []
    for name, pair in VKD_PROJECTOR_PAIRS.items():
        entries = projectors[name]
        absent = [e for e in _ENTRIES if e not in entries]
        if absent:
            raise CheckpointError(f'"{filename}": {name} lacks {absent}')
        conn_name = f'{pair}_s_conn'
        if conn_name not in distiller.connectors:
            raise CheckpointError(
                f'{name} belongs to the feature pair "{pair}", but the distiller has '
                f'no connector "{conn_name}" (connectors: {sorted(distiller.connectors)})'
            )
        sub, conn = _orthogonal_connector(distiller.connectors[conn_name],
                                          f'model.distiller.connectors.{conn_name}')
        source = dict(
            original=entries['projector.parametrizations.weight.original'].float(),
            base=entries['projector.parametrizations.weight.0.base'].float())
        P, used = reference_orthogonal_weight(source, orthogonal_map, name)
        if (conn.out_channels, conn.in_channels) != tuple(P.shape):
            raise CheckpointError(
                f'{name} is {P.shape[1]} -> {P.shape[0]}, the connector '
                f'{conn_name} is {conn.in_channels} -> {conn.out_channels}')
        if conn.scale is None:
            raise CheckpointError(f'{conn_name}: the OrthogonalConnector has no '
                                  'learnable_scale_bias, the reference projector has '
                                  'a per-channel scale and bias')
        err = set_orthonormal(conn, P, source, used)
        with torch.no_grad():
            conn.scale.copy_(entries['weight'].float())
            conn.bias.copy_(entries['bias'].float())
        prefix = f'distiller.connectors.{conn_name}.' + (f'{sub}.' if sub else '')
        for k, v in conn.state_dict().items():
            out[prefix + k] = v.clone()
        ortho = (P.mT @ P - torch.eye(P.shape[1])).abs().max().item()
        lines.append(f'{name} -> {prefix[:-1]} ({conn.parametrization}; file map '
                     f'{used}, |P^T P - I| {ortho:.1e}, written to {err:.1e})')
    return out, lines
