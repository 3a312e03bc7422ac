"""Convert a CRD-benchmark CIFAR-100 checkpoint (RepDistiller / mdistiller layout,
``{'model': state_dict}``) into an MMEngine checkpoint of our MMPretrain classifier.

    python tools/model_converters/convert_cifar_teacher.py \
        resnet32x4.pth checkpoints/cifar100/resnet32x4_mmpretrain.pth --arch resnet32x4

``--arch`` is one of the model names of those checkpoints (``resnet8x4``, ``resnet32x4``,
``resnet56``, ``resnet110``, ``ResNet50``, ``wrn_16_2``, ``wrn_40_2``, ``vgg8_bn``,
``vgg13_bn``, ``mobile_half``, ``ShuffleV1``, ``ShuffleV2``). Backbone tensors become
``backbone.*``, the classifier ``head.fc.*``. The result is loaded strictly into the
classifier built from ``configs/_base_/models/cifar100_crd_zoo.py``'s definition before it
is written, so a wrong ``--arch`` or a damaged file fails here with the list of missing /
unexpected keys and shape mismatches. The output (``state_dict`` + plain ``meta``) is
what ``model.teacher_ckpt`` / ``load_from`` expect. (The VKD / NCKD configs also read the
original file directly: ``StrictTeacherDistill`` does the same renaming on the fly.)
"""
import argparse
import os
import os.path as osp

import torch

import mmkd_ext  # noqa: F401
from mmkd_ext.models.backbones.cifar_weights import CIFAR_ZOO, convert_cifar_state_dict
from mmkd_ext.models.utils.checkpoint import (load_state_dict_strict, read_checkpoint,
                                              unwrap_state_dict)


def build_cifar_classifier(arch, num_classes=100):
    """The MMPretrain ImageClassifier of a CRD-benchmark model name."""
    from mmpretrain.registry import MODELS
    if arch not in CIFAR_ZOO:
        raise ValueError(f'--arch must be one of {sorted(CIFAR_ZOO)}, got {arch!r}')
    backbone, _, feat_dim = CIFAR_ZOO[arch]
    return MODELS.build(
        dict(
            type='ImageClassifier',
            backbone=dict(backbone),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(
                type='LinearClsHead', num_classes=num_classes, in_channels=feat_dim)))


def convert(src, dst, arch, num_classes=100):
    ckpt = read_checkpoint(src, key_hint='src')
    converted = convert_cifar_state_dict(unwrap_state_dict(ckpt, 'src', src))
    model = build_cifar_classifier(arch, num_classes)
    load_state_dict_strict(
        model,
        converted,
        key_hint='src',
        filename=src,
        layout=f'cifar (RepDistiller) as {arch}')
    meta = dict(source=osp.basename(src), arch=arch, converter='convert_cifar_teacher')
    for key in ('epoch', 'best_acc', 'accuracy'):
        val = ckpt.get(key)
        if isinstance(val, (int, float)) or (isinstance(val, torch.Tensor)
                                             and val.numel() == 1):
            meta[key] = float(val)
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    torch.save(dict(state_dict=model.state_dict(), meta=meta), dst)
    return dst


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='RepDistiller / mdistiller .pth file')
    parser.add_argument('dst', help='output MMEngine checkpoint')
    parser.add_argument('--arch', required=True, choices=sorted(CIFAR_ZOO))
    parser.add_argument('--num-classes', type=int, default=100)
    args = parser.parse_args(argv)
    convert(args.src, args.dst, args.arch, args.num_classes)
    print(f'wrote {args.dst}')


if __name__ == '__main__':
    main()
