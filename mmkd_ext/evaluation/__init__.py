from .gan_feature_extractors import ClassifierFeatureExtractor  # noqa: F401
from .gan_feature_extractors import InceptionV3FeatureExtractor
from .generative_metric import GenerativeMetric  # noqa: F401
from .neural_collapse_metric import NeuralCollapseMetric  # noqa: F401
