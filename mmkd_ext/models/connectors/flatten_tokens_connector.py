"""Flatten any feature layout to a token matrix (M, C) for per-token connectors.

(N, C, H, W) maps (``channel_dim=1``) -> (N*H*W, C); (..., C) tokens
(``channel_dim=-1``, e.g. decoder states (L, N, Q, C)) -> (prod(...), C). Used in
front of ``OrthogonalConnector`` / ``FeatureStandardizer(mode='batch')`` so that every
token of a batch is one row (VKD detection, vkd.md).
"""
from mmrazor.models.architectures.connectors.base_connector import BaseConnector
from mmrazor.registry import MODELS


@MODELS.register_module()
class FlattenTokensConnector(BaseConnector):
    """``channel_dim`` 1 (maps, channels first) or -1 (channels last)."""

    def __init__(self, channel_dim=-1, init_cfg=None):
        super().__init__(init_cfg)
        if channel_dim not in (1, -1):
            raise ValueError(f'FlattenTokensConnector.channel_dim must be 1 or -1, '
                             f'got {channel_dim}')
        self.channel_dim = channel_dim

    def forward_train(self, feature):
        if self.channel_dim == 1:
            if feature.dim() < 3:
                raise ValueError('FlattenTokensConnector(channel_dim=1) expects (N, C, '
                                 f'...) maps, got {tuple(feature.shape)}')
            feature = feature.flatten(2).transpose(1, 2)
        return feature.reshape(-1, feature.shape[-1])
