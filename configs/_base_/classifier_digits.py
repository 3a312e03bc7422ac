# A digits classifier trained alone (16x16 digits, 20 epochs of SGD): the data, the
# schedule and the classification runtime. A config of configs/digits adds its network
# (../_base_/models/digits_resnet18-w*.py) and sets
#   model = dict(data_preprocessor=_base_.data_preprocessor, **_base_.<network>)
_base_ = [
    './datasets/digits_bs32.py',
    './schedules/digits_sgd_20e.py',
    './default_runtime.py',
]
