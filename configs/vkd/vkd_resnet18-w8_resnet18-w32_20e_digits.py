# VKD (orthogonal projection + teacher standardization + smooth L1;
# configs/_base_/distill/vkd.py, on top of its logit-KD term) of the digits student
# (64-d `neck` feature) from the digits teacher (256-d), written with MMRazor's
# recorders / connectors / mappings (StrictConfigurableDistiller); the same run with
# VKDDistiller is written out in docs/vkd.md. The projector's widths (64 -> 256) are
# inferred from the two models when the algorithm is built.
# Train the teacher first:
#   python tools/train.py configs/digits/resnet18-w32_20e_digits.py
#   python tools/train.py configs/vkd/vkd_resnet18-w8_resnet18-w32_20e_digits.py
_base_ = [
    '../_base_/models/digits_resnet18-w32.py',
    '../_base_/models/digits_resnet18-w8.py',
    '../_base_/datasets/digits_bs32.py',
    '../_base_/schedules/digits_sgd_20e.py',
    '../_base_/distill/vkd.py',
]
teacher_ckpt = 'work_dirs/resnet18-w32_20e_digits/epoch_20.pth'
model = dict(
    data_preprocessor=_base_.data_preprocessor,
    architecture=_base_.student_model,
    teacher=_base_.teacher_model,
    teacher_ckpt=teacher_ckpt)
