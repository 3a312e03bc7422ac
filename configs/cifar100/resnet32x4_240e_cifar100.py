# resnet32x4 trained alone on CIFAR-100 (CRD protocol, 240 epochs): a teacher for the
# VKD / NCKD configs when the public resnet32x4.pth is not at hand, or the student
# baseline.
#   python tools/train.py configs/cifar100/resnet32x4_240e_cifar100.py
_base_ = ['../_base_/classifier_cifar100_crd.py']
model = dict(data_preprocessor=_base_.data_preprocessor, **_base_.resnet32x4)
