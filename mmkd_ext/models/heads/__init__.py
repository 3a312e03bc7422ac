from .deit_distill_head import DeiTDistillClsHead  # noqa: F401
from .nc3_head import NC3Head, PrototypeClassifier  # noqa: F401
