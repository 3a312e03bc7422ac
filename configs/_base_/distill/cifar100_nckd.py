# NCKD + logit KD (./nckd.py) on the CRD CIFAR-100 benchmark: CRD data and schedule, 100
# classes, NC metrics next to top-1 / top-5. A pair config adds
# `../models/cifar100_crd_zoo.py` and sets `architecture=dict(<student>,
# head=_base_.nc3_head)`, `teacher` and `teacher_ckpt`.
_base_ = [
    '../datasets/cifar100_bs64_crd.py',
    '../schedules/cifar100_sgd_240e_crd.py',
    './nckd.py',
]
nc3_head = dict(_base_.nc3_head, num_classes=100)
model = dict(
    data_preprocessor=_base_.data_preprocessor,
    distiller=dict(bank=dict(num_classes=100)))
val_evaluator = [_base_.val_evaluator, _base_.nc_metric]
test_evaluator = val_evaluator
