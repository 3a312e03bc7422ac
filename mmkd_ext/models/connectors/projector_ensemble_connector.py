"""Projector ensemble (Chen et al., 2022), a baseline of the VKD ablation."""
import torch
from mmrazor.models.architectures.connectors.base_connector import BaseConnector
from mmrazor.registry import MODELS
from torch import nn

from ..utils.feature_layout import check_channels, to_channels_last
from .mlp_connector import build_mlp


@MODELS.register_module()
class ProjectorEnsembleConnector(BaseConnector):
    """Mean of ``num_projectors`` independently initialised MLP projectors.

    ``y = (1/K) sum_k MLP_k(x)``; same shapes as :class:`LinearConnector`.
    """

    def __init__(self,
                 in_channels,
                 out_channels,
                 num_projectors=3,
                 hidden_channels=None,
                 num_layers=2,
                 init_cfg=None):
        super().__init__(init_cfg)
        if not isinstance(num_projectors, int) or num_projectors < 1:
            raise ValueError('ProjectorEnsembleConnector: `num_projectors` must be an '
                             f'int >= 1, got {num_projectors!r}')
        self.in_channels, self.out_channels = in_channels, out_channels
        self.projectors = nn.ModuleList(
            build_mlp(in_channels, out_channels, hidden_channels or out_channels,
                      num_layers) for _ in range(num_projectors))

    def forward_train(self, feature):
        check_channels(feature, self.in_channels, 'ProjectorEnsembleConnector')
        x, back = to_channels_last(feature, 'ProjectorEnsembleConnector')
        y = torch.stack([p(x) for p in self.projectors]).mean(dim=0)
        return back(y)
