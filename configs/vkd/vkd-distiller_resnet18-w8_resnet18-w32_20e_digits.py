# The experiment of vkd_resnet18-w8_resnet18-w32_20e_digits.py written with
# VKDDistiller: one feature pair instead of the recorder / connector / mapping
# boilerplate. Channels are inferred by a dry forward on `dry_run_shape`.
#   python tools/train.py configs/vkd/vkd-distiller_resnet18-w8_resnet18-w32_20e_digits.py
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
    type='SingleTeacherDistill',
    data_preprocessor=dict(
        type='mmpretrain.ClsDataPreprocessor', **_base_.data_preprocessor),
    architecture=_base_.student_model,
    teacher=_base_.teacher_model,
    teacher_ckpt=teacher_ckpt,
    distiller=dict(
        type='VKDDistiller',
        dry_run_shape=(2, 3, 32, 32),
        feature_pairs=[
            dict(student='neck', teacher='neck', student_pool='gap',
                 teacher_pool='gap', parametrization='cholesky_qr', normalizer='sample',
                 loss=dict(type='VKDLoss', loss_type='smooth_l1', beta=1.0),
                 loss_weight=1.0),
        ],
        # the logit KD term, as in configs/kd/kd_logits_*
        student_recorders=dict(fc=dict(type='ModuleOutputs', source='head.fc')),
        teacher_recorders=dict(fc=dict(type='ModuleOutputs', source='head.fc')),
        distill_losses=dict(loss_kl=dict(type='KLDivergence', tau=4, loss_weight=1.0)),
        loss_forward_mappings=dict(
            loss_kl=dict(
                preds_S=dict(from_student=True, recorder='fc'),
                preds_T=dict(from_student=False, recorder='fc')))),
)
find_unused_parameters = True
val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')
