"""Plain linear projector (FitNets-style baseline of the VKD ablation)."""
from mmrazor.models.architectures.connectors.base_connector import BaseConnector
from mmrazor.registry import MODELS
from torch import nn

from ..utils.feature_layout import check_channels, to_channels_last


@MODELS.register_module()
class LinearConnector(BaseConnector):
    """``y = x W^T + b`` over channels, W (d_t, d_s) unconstrained.

    (N, d_s) -> (N, d_t), (N, L, d_s) -> (N, L, d_t), (N, d_s, H, W) -> (N, d_t, H, W).
    """

    def __init__(self, in_channels, out_channels, bias=True, init_cfg=None):
        super().__init__(init_cfg)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.proj = nn.Linear(in_channels, out_channels, bias=bias)

    def forward_train(self, feature):
        check_channels(feature, self.in_channels, 'LinearConnector')
        x, back = to_channels_last(feature, 'LinearConnector')
        return back(self.proj(x))
