# VKD (orthogonal projection + teacher standardisation + smooth L1) of the digits
# student (64-d `neck` feature) from the digits teacher (256-d), written with MMRazor's
# plain ConfigurableDistiller, plus the logit KD term of
# configs/kd/kd_logits_resnet18-w8_resnet18-w32_20e_digits.py. Train the teacher first:
#   python tools/train.py configs/digits/resnet18-w32_20e_digits.py
#   python tools/train.py configs/vkd/vkd_resnet18-w8_resnet18-w32_20e_digits.py
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
        type='ConfigurableDistiller',
        # `neck` (GlobalAveragePooling) returns a 1-tuple: data_idx=0 below.
        student_recorders=dict(
            feat=dict(type='ModuleOutputs', source='neck'),
            fc=dict(type='ModuleOutputs', source='head.fc')),
        teacher_recorders=dict(
            feat=dict(type='ModuleOutputs', source='neck'),
            fc=dict(type='ModuleOutputs', source='head.fc')),
        connectors=dict(
            vkd_proj=dict(
                type='OrthogonalConnector', in_channels=64, out_channels=256,
                parametrization='cholesky_qr'),
            vkd_norm=dict(type='FeatureStandardizer', mode='sample')),
        distill_losses=dict(
            loss_vkd=dict(type='VKDLoss', loss_type='smooth_l1', beta=1.0,
                          loss_weight=1.0),
            loss_kl=dict(type='KLDivergence', tau=4, loss_weight=1.0)),
        loss_forward_mappings=dict(
            loss_vkd=dict(
                preds_S=dict(from_student=True, recorder='feat', data_idx=0,
                             connector='vkd_proj'),
                preds_T=dict(from_student=False, recorder='feat', data_idx=0,
                             connector='vkd_norm')),
            loss_kl=dict(
                preds_S=dict(from_student=True, recorder='fc'),
                preds_T=dict(from_student=False, recorder='fc')))),
)
find_unused_parameters = True
val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')
