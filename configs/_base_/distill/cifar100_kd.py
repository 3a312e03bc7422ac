# Logit KD on the CRD CIFAR-100 benchmark (Hinton et al.: KL at temperature 4, weight
# 1, plus the student's cross-entropy) through StrictTeacherDistill, which loads the
# teacher strictly from a RepDistiller / mdistiller checkpoint ({'model': ...}) or an
# MMEngine checkpoint of the same classifier. A config on top sets `architecture`,
# `teacher` and `teacher_ckpt` (and adds its own recorders / losses).
_base_ = [
    '../datasets/cifar100_bs64_crd.py',
    '../schedules/cifar100_sgd_240e_crd.py',
    '../default_runtime.py',
]
default_scope = 'mmrazor'
model = dict(
    _scope_='mmrazor',
    type='StrictTeacherDistill',
    data_preprocessor=dict(
        type='mmpretrain.ClsDataPreprocessor',
        num_classes=100,
        mean=[129.304, 124.070, 112.434],
        std=[68.170, 65.392, 70.418],
        to_rgb=False),
    teacher_ckpt=None,
    distiller=dict(
        type='StrictConfigurableDistiller',
        student_recorders=dict(logits=dict(type='ModuleOutputs', source='head.fc')),
        teacher_recorders=dict(logits=dict(type='ModuleOutputs', source='head.fc')),
        distill_losses=dict(loss_kl=dict(type='KLDivergence', tau=4, loss_weight=1.0)),
        loss_forward_mappings=dict(
            loss_kl=dict(
                preds_S=dict(from_student=True, recorder='logits'),
                preds_T=dict(from_student=False, recorder='logits')))),
)
find_unused_parameters = True
# evaluates the student and the teacher (a check that the teacher's weights loaded)
val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')
