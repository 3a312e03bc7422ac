from .biggan import BigGANGenerator  # noqa: F401
from .biggan import BigGANDiscriminator, ConditionalBatchNorm2d
from .data_limited_gan import DataLimitedGAN  # noqa: F401
from .diffaug import diff_augment, parse_policy  # noqa: F401
from .disc_kd import DiscriminatorKD  # noqa: F401
from .ema import ema_update_  # noqa: F401
from .frozen_encoder import CLIPImageProjection, FrozenImageEncoder  # noqa: F401
