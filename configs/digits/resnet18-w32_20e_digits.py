# Train the digits teacher alone:
#   python tools/train.py configs/digits/resnet18-w32_20e_digits.py
_base_ = [
    '../_base_/models/digits_resnet18-w32.py',
    '../_base_/datasets/digits_bs32.py',
    '../_base_/schedules/digits_sgd_20e.py',
    '../_base_/default_runtime.py',
]
model = dict(data_preprocessor=_base_.data_preprocessor, **_base_.teacher_model)
