# NCKD on top of logit KD (digits; configs/_base_/distill/nckd.py, which explains how
# the pieces meet): NC1 prototype alignment + NC2 ETF-structure transfer + NC3
# prototype-classifier head, teacher prototypes kept online. The NC terms are our
# formulation (docs/nckd.md). The head's and the bank's widths
# (64 -> 256) are inferred from the models when the algorithm is built.
# Train the teacher first:
#   python tools/train.py configs/digits/resnet18-w32_20e_digits.py
#   python tools/train.py configs/nckd/nckd_resnet18-w8_resnet18-w32_20e_digits.py
_base_ = [
    '../_base_/models/digits_resnet18-w32.py',
    '../_base_/models/digits_resnet18-w8.py',
    '../_base_/datasets/digits_bs32.py',
    '../_base_/schedules/digits_sgd_20e.py',
    '../_base_/distill/nckd.py',
]
teacher_ckpt = 'work_dirs/resnet18-w32_20e_digits/epoch_20.pth'
model = dict(
    data_preprocessor=_base_.data_preprocessor,
    architecture=dict(_base_.student_model, head=dict(_base_.nc3_head, num_classes=10)),
    teacher=_base_.teacher_model,
    teacher_ckpt=teacher_ckpt,
    distiller=dict(bank=dict(num_classes=10)))
val_evaluator = [_base_.val_evaluator, _base_.nc_metric]
test_evaluator = val_evaluator
