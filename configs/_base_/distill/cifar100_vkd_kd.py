# VKD on the CRD CIFAR-100 benchmark, on top of logit KD (cifar100_kd.py): the
# student's pooled penultimate feature (the neck's output) goes through an orthogonal
# projection to the teacher's width, the teacher's pooled feature is standardised per
# sample (layer norm without affine); smooth L1 between them, weight 1. A pair config
# sets `architecture`, `teacher` and `teacher_ckpt`; the projector's widths are
# inferred from the two models when the algorithm is built (docs/custom_student.md).
_base_ = ['./cifar100_kd.py']
model = dict(
    distiller=dict(
        student_recorders=dict(feat=dict(type='ModuleOutputs', source='neck')),
        teacher_recorders=dict(feat=dict(type='ModuleOutputs', source='neck')),
        connectors=dict(
            vkd_s=dict(type='OrthogonalConnector'),  # student -> teacher width
            vkd_t=dict(type='FeatureStandardizer', mode='sample')),
        distill_losses=dict(
            loss_vkd=dict(
                type='VKDLoss', loss_type='smooth_l1', beta=1.0, loss_weight=1.0)),
        loss_forward_mappings=dict(
            loss_vkd=dict(
                preds_S=dict(
                    from_student=True, recorder='feat', data_idx=0, connector='vkd_s'),
                preds_T=dict(
                    from_student=False, recorder='feat', data_idx=0,
                    connector='vkd_t')))))
