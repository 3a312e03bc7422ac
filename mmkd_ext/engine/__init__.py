from .autocast_optim_wrapper import AutocastOptimWrapper  # noqa: F401
from .check_finite_loss_hook import CheckFiniteLossHook  # noqa: F401
from .gan_optim_constructor import GANOptimWrapperConstructor  # noqa: F401
from .gan_sample_grid_hook import GANSampleGridHook  # noqa: F401
from .grad_norm_hook import GradNormHook  # noqa: F401
from .nc_feature_hook import NCFeatureHook  # noqa: F401
from .rng_state_hook import RNGStateHook  # noqa: F401
from .vidt_optim_constructor import ViDTOptimWrapperConstructor  # noqa: F401
