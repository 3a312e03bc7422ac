"""Chain of connectors, e.g. pool -> orthogonal projector -> standardiser."""
from mmrazor.models.architectures.connectors.base_connector import BaseConnector
from mmrazor.registry import MODELS
from torch import nn


@MODELS.register_module()
class SequentialConnector(BaseConnector):
    """Apply ``connectors`` (configs or modules) in order: ``c_k(...c_1(x))``.

    Shapes are those of the chained connectors. Unlike MMRazor's list form of
    ``connectors`` this is one registered connector, usable anywhere a connector config
    is accepted (e.g. inside another connector or a distiller's feature pair).
    """

    def __init__(self, connectors, init_cfg=None):
        super().__init__(init_cfg)
        if not isinstance(connectors, (list, tuple)) or len(connectors) == 0:
            raise ValueError('SequentialConnector: `connectors` must be a non-empty '
                             f'list of connector configs, got {connectors!r}')
        built = []
        for i, cfg in enumerate(connectors):
            if isinstance(cfg, nn.Module):
                built.append(cfg)
            elif isinstance(cfg, dict):
                built.append(MODELS.build(cfg))
            else:
                raise TypeError(f'SequentialConnector: `connectors[{i}]` must be a '
                                f'config dict or an nn.Module, got {type(cfg).__name__}')
        self.connectors = nn.ModuleList(built)

    def forward_train(self, feature):
        for connector in self.connectors:
            feature = connector(feature)
        return feature
