# vgg13 trained alone on CIFAR-100 (CRD protocol, 240 epochs): a teacher for the
# VKD / NCKD configs when the public vgg13_bn.pth is not at hand, or the student baseline.
#   python tools/train.py configs/cifar100/vgg13_240e_cifar100.py
_base_ = ['../_base_/classifier_cifar100_crd.py']
model = dict(data_preprocessor=_base_.data_preprocessor, **_base_.vgg13)
