# A classifier trained alone on CIFAR-100 with the CRD protocol (240 epochs): the zoo,
# the CRD data and schedule and the classification runtime. A config of configs/cifar100
# picks its network from the zoo:
#   model = dict(data_preprocessor=_base_.data_preprocessor, **_base_.<network>)
_base_ = [
    './models/cifar100_crd_zoo.py',
    './datasets/cifar100_bs64_crd.py',
    './schedules/cifar100_sgd_240e_crd.py',
    './default_runtime.py',
]
