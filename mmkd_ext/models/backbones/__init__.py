from .cifar_mobilenetv2 import CIFARMobileNetV2  # noqa: F401
from .cifar_resnet import CIFARResNet, CIFARResNetV2  # noqa: F401
from .cifar_shufflenet import CIFARShuffleNetV1, CIFARShuffleNetV2  # noqa: F401
from .cifar_vgg import CIFARVGG  # noqa: F401
from .cifar_weights import CIFAR_ZOO, convert_cifar_state_dict  # noqa: F401
from .cifar_wrn import CIFARWideResNet  # noqa: F401
from .conv_stem_deit import ConvStemDistilledVisionTransformer  # noqa: F401
from .conv_stem_deit import ConvStemEmbed
from .vidt_swin import ViDTSwinTransformer  # noqa: F401
