# VKD (Miles et al., CVPR 2024) on top of logit KD (./kd.py), dataset-agnostic: the
# student's pooled penultimate feature (the neck's output, a 1-tuple: data_idx=0) goes
# through an orthogonal projection `vkd_s` to the teacher's width, the teacher's pooled
# feature is standardized per sample by `vkd_t` (layer norm without affine); smooth L1
# between them, weight 1. The projector's widths are inferred from the two models when
# the algorithm is built (docs/custom_student.md). A config using it adds a model, a
# data set and a schedule and sets the networks, as for ./kd.py.
_base_ = ['./kd.py']
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
