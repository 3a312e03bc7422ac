# VKD (orthogonal projection + teacher standardisation + smooth L1) of the digits
# student (64-d `neck` feature) from the digits teacher (256-d), written with MMRazor's
# ConfigurableDistiller (as StrictConfigurableDistiller, from the KD base config), on
# top of the logit KD term of the KD base config. The projector's widths (64 -> 256)
# are inferred from the two models when the algorithm is built.
# Train the teacher first:
#   python tools/train.py configs/digits/resnet18-w32_20e_digits.py
#   python tools/train.py configs/vkd/vkd_resnet18-w8_resnet18-w32_20e_digits.py
_base_ = ['../kd/kd_resnet18-w8_resnet18-w32_20e_digits.py']

model = dict(
    distiller=dict(
        # `neck` (GlobalAveragePooling) returns a 1-tuple: data_idx=0 below.
        student_recorders=dict(feat=dict(type='ModuleOutputs', source='neck')),
        teacher_recorders=dict(feat=dict(type='ModuleOutputs', source='neck')),
        connectors=dict(
            vkd_s=dict(type='OrthogonalConnector', parametrization='cholesky_qr'),
            vkd_t=dict(type='FeatureStandardizer', mode='sample')),
        distill_losses=dict(
            loss_vkd=dict(type='VKDLoss', loss_type='smooth_l1', beta=1.0,
                          loss_weight=1.0)),
        loss_forward_mappings=dict(
            loss_vkd=dict(
                preds_S=dict(from_student=True, recorder='feat', data_idx=0,
                             connector='vkd_s'),
                preds_T=dict(from_student=False, recorder='feat', data_idx=0,
                             connector='vkd_t')))))
