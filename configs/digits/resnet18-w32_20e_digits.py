# Train the digits teacher alone:
#   python tools/train.py configs/digits/resnet18-w32_20e_digits.py
_base_ = [
    '../_base_/classifier_digits.py',
    '../_base_/models/digits_resnet18-w32.py',
]
model = dict(data_preprocessor=_base_.data_preprocessor, **_base_.teacher_model)
