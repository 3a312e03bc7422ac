"""Weights of the CRD-benchmark CIFAR-100 models (RepDistiller / mdistiller layout).

The public CIFAR-100 teachers of the CRD benchmark are saved as ``{'model': state_dict}``
with the names of ``tests/data/checkpoint_layouts/cifar100``. Our CIFAR backbones
(:mod:`.cifar_resnet`, :mod:`.cifar_wrn`, :mod:`.cifar_vgg`, :mod:`.cifar_mobilenetv2`,
:mod:`.cifar_shufflenet`) keep those names, so only the wrapping differs: in an
MMPretrain ``ImageClassifier`` the backbone entries are ``backbone.<name>`` and the
classifier (``fc``, ``linear``, ``classifier`` or ``classifier.0``) is ``head.fc``.

:data:`CIFAR_ZOO` maps each checkpoint name to the backbone config, the classifier name
in the file and the feature width; :func:`convert_cifar_state_dict` is the layout
converter used by :func:`mmkd_ext.models.utils.classifier_ckpt.load_classifier_checkpoint`
and ``tools/model_converters/convert_cifar_teacher.py``.
"""
from collections import OrderedDict

from ..utils.checkpoint import CheckpointError, revise_keys

__all__ = [
    'CIFAR_ZOO', 'CLASSIFIER_PREFIXES', 'cifar_classifier_prefix',
    'convert_cifar_state_dict'
]

#: CRD-benchmark model name (as in the public checkpoints' file names) ->
#: (our backbone config, classifier name in those checkpoints, feature channels).
CIFAR_ZOO = {
    'resnet8x4': (dict(type='CIFARResNet', arch='resnet8x4'), 'fc', 256),
    'resnet32x4': (dict(type='CIFARResNet', arch='resnet32x4'), 'fc', 256),
    'resnet56': (dict(type='CIFARResNet', arch='resnet56'), 'fc', 64),
    'resnet110': (dict(type='CIFARResNet', arch='resnet110'), 'fc', 64),
    'ResNet50': (dict(type='CIFARResNetV2', arch='resnet50'), 'linear', 2048),
    'wrn_16_2': (dict(type='CIFARWideResNet', depth=16, widen_factor=2), 'fc', 128),
    'wrn_40_2': (dict(type='CIFARWideResNet', depth=40, widen_factor=2), 'fc', 128),
    'vgg8_bn': (dict(type='CIFARVGG', arch='vgg8'), 'classifier', 512),
    'vgg13_bn': (dict(type='CIFARVGG', arch='vgg13'), 'classifier', 512),
    'mobile_half': (dict(type='CIFARMobileNetV2',
                         widen_factor=0.5), 'classifier.0', 1280),
    'ShuffleV1': (dict(type='CIFARShuffleNetV1', groups=3), 'linear', 960),
    'ShuffleV2': (dict(type='CIFARShuffleNetV2', net_size=1), 'linear', 1024),
}

#: Names of the final linear layer in the CIFAR checkpoints (most specific first).
CLASSIFIER_PREFIXES = ('classifier.0', 'classifier', 'linear', 'fc')


def cifar_classifier_prefix(state_dict):
    """The name of the final linear layer (2-d ``<name>.weight``) or ``None``."""
    for prefix in CLASSIFIER_PREFIXES:
        weight = state_dict.get(f'{prefix}.weight')
        if weight is not None and weight.dim() == 2:
            return prefix
    return None


def convert_cifar_state_dict(state_dict,
                             head_prefix='head.fc.',
                             backbone_prefix='backbone.'):
    """Rename a RepDistiller / mdistiller CIFAR state dict to MMPretrain names.

    ``conv1.weight -> backbone.conv1.weight``, ``fc.weight -> head.fc.weight`` (also
    ``linear.*``, ``classifier.*``, ``classifier.0.*``). A ``module.`` prefix
    (DataParallel) is dropped.

    Raises:
        CheckpointError: no classifier weight (``fc`` / ``linear`` / ``classifier``).
    """
    state_dict = revise_keys(state_dict, [(r'^module\.', '')])
    clf = cifar_classifier_prefix(state_dict)
    if clf is None:
        raise CheckpointError('not a CIFAR classifier state dict: none of '
                              f'{[p + ".weight" for p in CLASSIFIER_PREFIXES]} (2-d) '
                              'found')
    out = OrderedDict()
    for k, v in state_dict.items():
        if k.startswith(clf + '.') and k.count('.') == clf.count('.') + 1:
            out[head_prefix + k[len(clf) + 1:]] = v
        else:
            out[backbone_prefix + k] = v
    return out
