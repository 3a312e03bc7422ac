# Logit KD (Hinton, KL at temperature 4) of the digits student from the digits
# teacher through MMRazor's SingleTeacherDistill. Train the teacher first:
#   python tools/train.py configs/digits/resnet18-w32_20e_digits.py
#   python tools/train.py configs/kd/kd_resnet18-w8_resnet18-w32_20e_digits.py
_base_ = [
    '../_base_/models/digits_resnet18-w32.py',
    '../_base_/models/digits_resnet18-w8.py',
    '../_base_/datasets/digits_bs32.py',
    '../_base_/schedules/digits_sgd_20e.py',
    '../_base_/default_runtime.py',
]
default_scope = 'mmrazor'
teacher_ckpt = 'work_dirs/resnet18-w32_20e_digits/epoch_20.pth'

model = dict(
    _scope_='mmrazor',
    type='StrictTeacherDistill',
    data_preprocessor=dict(
        type='mmpretrain.ClsDataPreprocessor', **_base_.data_preprocessor),
    architecture=_base_.student_model,
    teacher=_base_.teacher_model,
    teacher_ckpt=teacher_ckpt,
    distiller=dict(
        type='StrictConfigurableDistiller',
        student_recorders=dict(
            logits=dict(type='ModuleOutputs', source='head.fc')),
        teacher_recorders=dict(
            logits=dict(type='ModuleOutputs', source='head.fc')),
        distill_losses=dict(
            loss_kl=dict(type='KLDivergence', tau=4, loss_weight=1.0)),
        loss_forward_mappings=dict(
            loss_kl=dict(
                preds_S=dict(from_student=True, recorder='logits'),
                preds_T=dict(from_student=False, recorder='logits')))),
)
find_unused_parameters = True
val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')
