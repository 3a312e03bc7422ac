# Train the digits student alone (the no-teacher baseline):
#   python tools/train.py configs/digits/resnet18-w8_20e_digits.py
_base_ = [
    '../_base_/classifier_digits.py',
    '../_base_/models/digits_resnet18-w8.py',
]
model = dict(data_preprocessor=_base_.data_preprocessor, **_base_.student_model)
