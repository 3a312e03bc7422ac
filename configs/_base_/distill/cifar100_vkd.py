# VKD + logit KD (./vkd.py) on the CRD CIFAR-100 benchmark: CRD data and schedule. A pair
# config adds `../models/cifar100_crd_zoo.py` and sets `architecture`, `teacher` and
# `teacher_ckpt` (RepDistiller / mdistiller `{'model': ...}` files load strictly).
_base_ = [
    '../datasets/cifar100_bs64_crd.py',
    '../schedules/cifar100_sgd_240e_crd.py',
    './vkd.py',
]
model = dict(data_preprocessor=_base_.data_preprocessor)
