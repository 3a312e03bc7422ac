"""MLP projector (baseline of the VKD ablation)."""
from mmrazor.models.architectures.connectors.base_connector import BaseConnector
from mmrazor.registry import MODELS
from torch import nn

from ..utils.feature_layout import check_channels, to_channels_last


def build_mlp(in_channels, out_channels, hidden_channels, num_layers):
    """Linear -> ReLU -> ... -> Linear with ``num_layers`` linear layers."""
    if not isinstance(num_layers, int) or num_layers < 1:
        raise ValueError(f'`num_layers` must be an int >= 1, got {num_layers!r}')
    dims = [in_channels] + [hidden_channels] * (num_layers - 1) + [out_channels]
    layers = []
    for i in range(num_layers):
        layers.append(nn.Linear(dims[i], dims[i + 1]))
        if i < num_layers - 1:
            layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


@MODELS.register_module()
class MLPConnector(BaseConnector):
    """Per-token MLP ``d_s -> hidden -> ... -> d_t`` (ReLU between layers).

    Same shapes as :class:`LinearConnector`. ``hidden_channels`` defaults to d_t.
    """

    def __init__(self,
                 in_channels,
                 out_channels,
                 hidden_channels=None,
                 num_layers=2,
                 init_cfg=None):
        super().__init__(init_cfg)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.mlp = build_mlp(in_channels, out_channels, hidden_channels or out_channels,
                             num_layers)

    def forward_train(self, feature):
        check_channels(feature, self.in_channels, 'MLPConnector')
        x, back = to_channels_last(feature, 'MLPConnector')
        return back(self.mlp(x))
