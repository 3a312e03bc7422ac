# Logit KD (Hinton, KL at temperature 4; configs/_base_/distill/kd.py) of the digits
# student (ResNet-18, width 8) from the digits teacher (width 32) through
# StrictTeacherDistill. Train the teacher first:
#   python tools/train.py configs/digits/resnet18-w32_20e_digits.py
#   python tools/train.py configs/kd/kd_resnet18-w8_resnet18-w32_20e_digits.py
_base_ = [
    '../_base_/models/digits_resnet18-w32.py',
    '../_base_/models/digits_resnet18-w8.py',
    '../_base_/datasets/digits_bs32.py',
    '../_base_/schedules/digits_sgd_20e.py',
    '../_base_/distill/kd.py',
]
teacher_ckpt = 'work_dirs/resnet18-w32_20e_digits/epoch_20.pth'
model = dict(
    data_preprocessor=_base_.data_preprocessor,
    architecture=_base_.student_model,
    teacher=_base_.teacher_model,
    teacher_ckpt=teacher_ckpt)
