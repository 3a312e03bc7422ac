from .nc1_align_loss import NC1AlignLoss  # noqa: F401
from .nc2_structure_loss import NC2StructureLoss  # noqa: F401
from .token_matching_loss import TokenMatchingLoss  # noqa: F401
from .vkd_loss import VKDLoss  # noqa: F401
