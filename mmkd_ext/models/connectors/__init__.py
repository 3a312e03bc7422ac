from .feature_standardizer import FeatureStandardizer  # noqa: F401
from .feature_whitener import FeatureWhitener  # noqa: F401
from .flatten_tokens_connector import FlattenTokensConnector  # noqa: F401
from .global_avg_pool_connector import GlobalAvgPoolConnector  # noqa: F401
from .linear_connector import LinearConnector  # noqa: F401
from .mlp_connector import MLPConnector  # noqa: F401
from .normalizers import NORMALIZERS, normalizer_cfg  # noqa: F401
from .orthogonal_connector import OrthogonalConnector  # noqa: F401
from .projector_ensemble_connector import ProjectorEnsembleConnector  # noqa: F401
from .sequential_connector import SequentialConnector  # noqa: F401
from .token_mean_pool_connector import TokenMeanPoolConnector  # noqa: F401
