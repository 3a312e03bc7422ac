"""VKD's orthogonal projector (Miles et al., CVPR 2024, sec. 3.2, eq. 3)."""
import torch
import torch.nn.functional as F
from mmrazor.models.architectures.connectors.base_connector import BaseConnector
from mmrazor.registry import MODELS
from torch import nn
from torch.nn.utils import parametrizations

from ..utils.feature_layout import check_channels, to_channels_last
from ..utils.orthogonal import (complete_orthogonal, gram_factor, gram_linear,
                                householder_orthonormal, identity_orthonormal,
                                random_orthonormal, stiefel_exp)

_TORCH_MAPS = ('matrix_exp', 'cayley')
_GRAM_MAPS = ('cholesky_qr', 'polar', 'newton_schulz')
PARAMETRIZATIONS = _GRAM_MAPS + ('stiefel_exp', 'householder') + _TORCH_MAPS
#: the default map (also ``VKDDistiller``'s): exact, scale invariant, the cheapest
DEFAULT_PARAMETRIZATION = 'cholesky_qr'


@MODELS.register_module()
class OrthogonalConnector(BaseConnector):
    """Orthogonal projection ``y = x P^T (* scale + bias)``, P (d_t, d_s), ``P^T P = I``.

    Inner products are preserved, ``<P z_i, P z_j> = <z_i, z_j>`` (VKD eq. 3); for
    ``in_channels > out_channels`` P has orthonormal rows (``P P^T = I``) instead.
    Shapes: (N, d_s) -> (N, d_t); (N, L, d_s) tokens -> (N, L, d_t);
    (N, d_s, H, W) maps -> (N, d_t, H, W).

    Args:
        in_channels (int): d_s, the student's channels.
        out_channels (int): d_t, the teacher's channels.
        parametrization (str): how P is built from free parameters, all exact and
            all safe under weight decay on every parameter (tested with AdamW and SGD):
            ``'cholesky_qr'`` (default, fastest: the Q factor ``X R^{-1}`` of X's thin
            QR, R from a d_s x d_s Cholesky of ``X^T X``), ``'polar'``
            (``X (X^T X)^{-1/2}`` by a small eigh), ``'newton_schulz'`` (the polar map
            by Newton-Schulz iterations on the Gram; matmuls only) -- these three are
            scale invariant and applied as ``(x Z^T) X^T`` without forming P --
            ``'stiefel_exp'`` (thin Stiefel exponential at the start point),
            ``'householder'`` (PyTorch's Householder map, the reference code's
            default, with its +-1 signs in a buffer instead of the diagonal of the
            trained parameter, see
            :func:`~mmkd_ext.models.utils.orthogonal.householder_orthonormal`), and
            PyTorch's ``torch.nn.utils.parametrizations.orthogonal`` maps
            ``'matrix_exp'`` (the paper's map: exponential of a max(d_s, d_t)-square
            skew matrix) and ``'cayley'``.
        init (str): ``'random'`` (Haar-random orthonormal) or ``'identity'`` (``[I; 0]``).
        learnable_scale_bias (bool): per-output-channel scale (init 1) and bias (init
            0) after the projection (VKD's detection variant).
        init_cfg (dict, optional): MMEngine init config.
    """

    def __init__(self,
                 in_channels,
                 out_channels,
                 parametrization=DEFAULT_PARAMETRIZATION,
                 init='random',
                 learnable_scale_bias=False,
                 init_cfg=None):
        super().__init__(init_cfg)
        for key, val in (('in_channels', in_channels), ('out_channels', out_channels)):
            if not isinstance(val, int) or isinstance(val, bool) or val <= 0:
                raise ValueError(f'OrthogonalConnector: `{key}` must be a positive '
                                 f'int, got {val!r}')
        if parametrization not in PARAMETRIZATIONS:
            raise ValueError(f'OrthogonalConnector: `parametrization` must be one of '
                             f'{PARAMETRIZATIONS}, got {parametrization!r}')
        if init not in ('random', 'identity'):
            raise ValueError("OrthogonalConnector: `init` must be 'random' or "
                             f"'identity', got {init!r}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.parametrization = parametrization
        d_t, d_s = out_channels, in_channels
        Q = random_orthonormal(d_t, d_s) if init == 'random' \
            else identity_orthonormal(d_t, d_s)
        if parametrization in _GRAM_MAPS:
            self.raw_weight = nn.Parameter(Q)
        elif parametrization == 'stiefel_exp':
            tall = Q if d_t >= d_s else Q.mT.contiguous()
            n, k = tall.shape
            self.register_buffer('base', tall)
            self.omega = nn.Parameter(torch.zeros(k, k))
            self.tangent = nn.Parameter(torch.zeros(n, k))
        elif parametrization == 'householder':
            # P = base H(reflectors) diag(signs); PyTorch's start: reflectors 0,
            # signs -1, base an n x n orthogonal completion of Q (trivialization)
            tall = Q if d_t >= d_s else Q.mT.contiguous()
            n, k = tall.shape
            self.register_buffer('base', complete_orthogonal(tall))
            self.register_buffer('signs', -torch.ones(k))
            self.reflectors = nn.Parameter(torch.zeros(n, k))
        else:
            self.proj = nn.Linear(d_s, d_t, bias=False)
            parametrizations.orthogonal(
                self.proj, 'weight', orthogonal_map=parametrization)
            self.proj.weight = Q
        if learnable_scale_bias:
            self.scale = nn.Parameter(torch.ones(d_t))
            self.bias = nn.Parameter(torch.zeros(d_t))
        else:
            self.scale = self.bias = None

    def _gram_factor(self):
        return gram_factor(self.raw_weight, self.parametrization)

    @property
    def weight(self):
        """The orthonormal P (out_channels, in_channels), float32."""
        with torch.autocast(self._device_type(), enabled=False):
            if self.parametrization in _GRAM_MAPS:
                X, Z = self.raw_weight, self._gram_factor()
                return X @ Z if X.shape[0] >= X.shape[1] else Z.mT @ X
            if self.parametrization == 'stiefel_exp':
                P = stiefel_exp(self.base, self.omega, self.tangent)
                return P if self.out_channels >= self.in_channels else P.mT
            if self.parametrization == 'householder':
                P = householder_orthonormal(self.reflectors.float(), self.signs,
                                            self.base)
                return P if self.out_channels >= self.in_channels else P.mT
            return self.proj.weight

    def _device_type(self):
        return next(iter(self.parameters())).device.type

    def forward_train(self, feature):
        check_channels(feature, self.in_channels, 'OrthogonalConnector')
        x, back = to_channels_last(feature, 'OrthogonalConnector')
        if self.parametrization in _GRAM_MAPS:
            # y = x P^T in factored form (utils/orthogonal.py: gram_linear)
            y = gram_linear(x, self.raw_weight, self.parametrization)
        else:
            y = F.linear(x, self.weight.to(x.dtype))
        if self.scale is not None:
            y = y * self.scale + self.bias
        return back(y)

    def extra_repr(self):
        return (f'{self.in_channels} -> {self.out_channels}, '
                f'parametrization={self.parametrization}, '
                f'learnable_scale_bias={self.scale is not None}')
