"""VKD's teacher normaliser by standardisation (Miles et al., CVPR 2024, sec. 3.3)."""
import torch
import torch.nn.functional as F
from mmrazor.models.architectures.connectors.base_connector import BaseConnector
from mmrazor.registry import MODELS

from ..utils.feature_layout import to_channels_last


@MODELS.register_module()
class FeatureStandardizer(BaseConnector):
    """Standardise features; the output has the input's shape.

    * ``mode='sample'`` (classification prior): per sample / token, over channels,
      ``(z - mean_c z) / sqrt(var_c z + eps)`` with the biased variance, i.e. exactly
      ``F.layer_norm(z, (C,), eps=eps)`` without affine parameters.
    * ``mode='batch'`` (detection prior): per channel, over all M tokens of the batch
      (M = N, N*L or N*H*W), ``(z - mean_M z) / sqrt(var_M z + eps)`` with the unbiased
      variance (needs M >= 2).

    Accepts (N, C), (N, L, C) tokens and (N, C, H, W) maps (channels at dim 1).
    """

    def __init__(self, mode='sample', eps=1e-5, init_cfg=None):
        super().__init__(init_cfg)
        if mode not in ('sample', 'batch'):
            raise ValueError("FeatureStandardizer: `mode` must be 'sample' or "
                             f"'batch', got {mode!r}")
        if not eps >= 0:
            raise ValueError(f'FeatureStandardizer: `eps` must be >= 0, got {eps!r}')
        self.mode, self.eps = mode, float(eps)

    def forward_train(self, feature):
        x, back = to_channels_last(feature, 'FeatureStandardizer')
        if self.mode == 'sample':
            return back(F.layer_norm(x, x.shape[-1:], eps=self.eps))
        flat = x.reshape(-1, x.shape[-1])
        if flat.shape[0] < 2:
            raise ValueError(
                "FeatureStandardizer(mode='batch') needs at least 2 tokens per batch "
                f'to estimate a per-channel std, got feature shape {tuple(feature.shape)}'
            )
        var, mean = torch.var_mean(flat, dim=0, correction=1)
        return back((x - mean) * (var + self.eps).rsqrt())

    def extra_repr(self):
        return f'mode={self.mode}, eps={self.eps}'
