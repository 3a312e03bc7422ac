"""Token mean pooling: the VKD student feature of a ViT / DeiT (vkd.md)."""
import torch
from mmrazor.models.architectures.connectors.base_connector import BaseConnector
from mmrazor.registry import MODELS


def select_output(feature, index, owner):
    """Pick ``feature[index]`` from (nested) tuple / list backbone outputs."""
    while isinstance(feature, (tuple, list)):
        if len(feature) == 0:
            raise ValueError(f'{owner}: got an empty tuple of features')
        feature = feature[index]
    if not isinstance(feature, torch.Tensor):
        raise TypeError(f'{owner}: expected a tensor or a tuple of tensors, got '
                        f'{type(feature).__name__}')
    return feature


@MODELS.register_module()
class TokenMeanPoolConnector(BaseConnector):
    """(N, L, C) tokens -> (N, C): mean of ``tokens[:, num_skip_tokens:]``.

    Skips the leading class / distillation tokens (DeiT: ``num_skip_tokens=2`` on the
    output of the final norm ``backbone.ln1``). A tuple / list (e.g. the outputs of an
    MMPretrain ViT backbone, one per ``out_indices``) is reduced to its element
    ``output_index`` first; an (N, C, H, W) map of patch tokens (``out_type='featmap'``,
    class tokens already removed) is averaged over H, W; (N, C) passes through.
    """

    def __init__(self, num_skip_tokens=0, output_index=-1, init_cfg=None):
        super().__init__(init_cfg)
        if not isinstance(num_skip_tokens, int) or num_skip_tokens < 0:
            raise ValueError('TokenMeanPoolConnector: `num_skip_tokens` must be an '
                             f'int >= 0, got {num_skip_tokens!r}')
        self.num_skip_tokens, self.output_index = num_skip_tokens, output_index

    def forward_train(self, feature):
        x = select_output(feature, self.output_index, 'TokenMeanPoolConnector')
        if x.dim() == 2:
            return x
        if x.dim() == 4:
            return x.mean(dim=(2, 3))
        if x.dim() != 3:
            raise ValueError('TokenMeanPoolConnector expects (N, L, C) tokens, got '
                             f'shape {tuple(x.shape)}')
        if x.shape[1] <= self.num_skip_tokens:
            raise ValueError(
                f'TokenMeanPoolConnector: `num_skip_tokens`={self.num_skip_tokens} '
                f'leaves no token in a feature of shape {tuple(x.shape)}')
        return x[:, self.num_skip_tokens:].mean(dim=1)
