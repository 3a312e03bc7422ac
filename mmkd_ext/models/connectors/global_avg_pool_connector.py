"""Global average pooling of feature maps (the VKD teacher feature of a CNN)."""
from mmrazor.models.architectures.connectors.base_connector import BaseConnector
from mmrazor.registry import MODELS

from .token_mean_pool_connector import select_output


@MODELS.register_module()
class GlobalAvgPoolConnector(BaseConnector):
    """(N, C, H, W) -> (N, C), mean over H, W; (N, C) passes through.

    A tuple / list (backbone outputs, one per ``out_indices``) is reduced to its
    element ``output_index`` (default the last stage) first.
    """

    def __init__(self, output_index=-1, init_cfg=None):
        super().__init__(init_cfg)
        self.output_index = output_index

    def forward_train(self, feature):
        x = select_output(feature, self.output_index, 'GlobalAvgPoolConnector')
        if x.dim() == 2:
            return x
        if x.dim() != 4:
            raise ValueError('GlobalAvgPoolConnector expects (N, C, H, W) maps, got '
                             f'shape {tuple(x.shape)}')
        return x.mean(dim=(2, 3))
