"""VKD's teacher normaliser by whitening (Miles et al., CVPR 2024, sec. 3.4)."""
import torch
from mmrazor.models.architectures.connectors.base_connector import BaseConnector
from mmrazor.registry import MODELS

from ..utils.feature_layout import check_channels, to_channels_last
from ..utils.whitening import batch_whiten, whiten


@MODELS.register_module()
class FeatureWhitener(BaseConnector):
    """Batch whitening ``y = (z - mu) W^T`` with ``W C W^T = I``.

    ``C = (1 - eps) Sigma + eps I`` is the shrunk covariance (Sigma with 1/(M-1)) of the
    M tokens of the batch in training and the running covariance in eval; running
    mean / covariance are buffers (saved in the state dict) updated as
    ``r <- (1 - momentum) r + momentum * batch``. W is ``L^{-1}`` of the Cholesky factor
    (``method='cholesky'``) or ``C^{-1/2}`` (``'zca'``). The shrinkage keeps C positive
    definite, so M < d works. Computed in float32 even under autocast; the output is
    float32 with the input's shape ((N, d), (N, L, d) or (N, d, H, W)). The maths is
    :func:`~mmkd_ext.models.utils.whitening.batch_whiten` (training) and
    :func:`~mmkd_ext.models.utils.whitening.whiten` (eval): no inverse is formed, ZCA
    with fewer tokens than channels works on the token Gram matrix (docs/vkd.md).

    Args:
        num_features (int): d, the channel count.
        method (str): ``'cholesky'`` or ``'zca'``.
        eps (float): shrinkage towards the identity, in (0, 1].
        momentum (float): running-statistics momentum, in [0, 1].
    """

    def __init__(self,
                 num_features,
                 method='cholesky',
                 eps=1e-3,
                 momentum=0.01,
                 init_cfg=None):
        super().__init__(init_cfg)
        if not isinstance(num_features, int) or num_features <= 0:
            raise ValueError('FeatureWhitener: `num_features` must be a positive int, '
                             f'got {num_features!r}')
        if method not in ('cholesky', 'zca'):
            raise ValueError("FeatureWhitener: `method` must be 'cholesky' or 'zca', "
                             f'got {method!r}')
        if not 0 < eps <= 1:
            raise ValueError(f'FeatureWhitener: `eps` must be in (0, 1], got {eps!r}')
        if not 0 <= momentum <= 1:
            raise ValueError('FeatureWhitener: `momentum` must be in [0, 1], got '
                             f'{momentum!r}')
        self.num_features, self.method = num_features, method
        self.eps, self.momentum = float(eps), float(momentum)
        self.register_buffer('running_mean', torch.zeros(num_features))
        self.register_buffer('running_cov', torch.eye(num_features))

    def forward_train(self, feature):
        check_channels(feature, self.num_features, 'FeatureWhitener', 'num_features')
        x, back = to_channels_last(feature, 'FeatureWhitener')
        with torch.autocast(x.device.type, enabled=False):
            flat = x.reshape(-1, self.num_features).float()
            if self.training:
                if flat.shape[0] < 2:
                    raise ValueError(
                        'FeatureWhitener needs at least 2 tokens per batch in training, '
                        f'got feature shape {tuple(feature.shape)}')
                y, mu, cov = batch_whiten(flat, self.method, self.eps)
                with torch.no_grad():
                    self.running_mean.lerp_(mu.detach(), self.momentum)
                    self.running_cov.lerp_(cov.detach(), self.momentum)
            else:
                y = whiten(flat, self.running_mean, self.running_cov, self.method,
                           self.eps)
        y = y.reshape(x.shape)
        return back(y)

    def extra_repr(self):
        return (f'{self.num_features}, method={self.method}, eps={self.eps}, '
                f'momentum={self.momentum}')
