# Logit KD (Hinton et al. 2015: KL divergence at temperature 4, weight 1, plus the
# student's own cross-entropy), dataset-agnostic, through StrictTeacherDistill:
# MMRazor's SingleTeacherDistill with a strict teacher loader (a file of another model is
# an error naming `model.teacher_ckpt`; a RepDistiller / mdistiller `{'model': ...}`
# file or an MMEngine checkpoint of the same classifier loads). The KD term reads the
# logits of both heads (`head.fc`) through the recorders named `logits`.
# A config using it inherits a model, a data set and a schedule next to it and sets
#   model = dict(data_preprocessor=_base_.data_preprocessor,
#                architecture=..., teacher=..., teacher_ckpt=...)
_base_ = ['../default_runtime.py']
default_scope = 'mmrazor'
model = dict(
    _scope_='mmrazor',
    type='StrictTeacherDistill',
    data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor'),
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
