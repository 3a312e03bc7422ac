# The CIFAR-100 models of the CRD benchmark as MMPretrain classifiers: our CIFAR
# backbones (mmkd_ext/models/backbones, same parameter names as the public RepDistiller /
# mdistiller checkpoints) + global average pooling + a linear head (`head.fc` holds the
# checkpoints' fc / linear / classifier). The penultimate width is the head's
# `in_channels`; distillation configs take widths from there (or infer them).
# Every zoo entry is this classifier with its own backbone and penultimate width
# (`in_channels`); `_classifier` and `_zoo` are removed at the end of the file, so the
# configs see only the entries.
_classifier = dict(
    _scope_='mmpretrain',
    type='ImageClassifier',
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=100,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))


def _zoo(backbone, in_channels, classifier=_classifier):
    return dict(
        classifier,
        backbone=backbone,
        head=dict(classifier['head'], in_channels=in_channels))


resnet8x4 = _zoo(dict(type='CIFARResNet', arch='resnet8x4'), 256)
resnet32x4 = _zoo(dict(type='CIFARResNet', arch='resnet32x4'), 256)
resnet56 = _zoo(dict(type='CIFARResNet', arch='resnet56'), 64)
resnet110 = _zoo(dict(type='CIFARResNet', arch='resnet110'), 64)
resnet50 = _zoo(dict(type='CIFARResNetV2', arch='resnet50'), 2048)
wrn_16_2 = _zoo(dict(type='CIFARWideResNet', depth=16, widen_factor=2), 128)
wrn_40_2 = _zoo(dict(type='CIFARWideResNet', depth=40, widen_factor=2), 128)
vgg8 = _zoo(dict(type='CIFARVGG', arch='vgg8'), 512)
vgg13 = _zoo(dict(type='CIFARVGG', arch='vgg13'), 512)
mobilenetv2_half = _zoo(dict(type='CIFARMobileNetV2', widen_factor=0.5), 1280)
shufflenetv1 = _zoo(dict(type='CIFARShuffleNetV1', groups=3), 960)
shufflenetv2 = _zoo(dict(type='CIFARShuffleNetV2', net_size=1), 1024)
del _classifier, _zoo
