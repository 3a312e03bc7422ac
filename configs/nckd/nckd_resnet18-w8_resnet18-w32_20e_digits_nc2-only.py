# Ablation: logit KD + NC2 ETF-structure transfer only (linear student head), a
# variant of the NCKD digits config (same data, schedule, networks and teacher).
# NC2 compares cosine Gram matrices of centred class means, which no orthogonal map
# changes, so the student's own 64-d neck feature is used directly (no projector) and
# the teacher's class means come from the same batch: NCKDDistiller without a bank.
# Our formulation: docs/nckd.md.
_base_ = ['./nckd_resnet18-w8_resnet18-w32_20e_digits.py']

_nckd = _base_.model.distiller
model = dict(
    architecture=dict(_delete_=True, **_base_.student_model),  # linear head
    distiller=dict(
        _delete_=True,
        type='NCKDDistiller',
        student_recorders=dict(
            logits=_nckd.student_recorders.logits,
            feat=dict(type='ModuleOutputs', source='neck'),
            labels=_nckd.student_recorders.labels),
        teacher_recorders=_nckd.teacher_recorders,
        distill_losses=dict(
            loss_kl=_nckd.distill_losses.loss_kl, loss_nc2=_nckd.distill_losses.loss_nc2),
        loss_forward_mappings=dict(
            loss_kl=_nckd.loss_forward_mappings.loss_kl,
            loss_nc2=dict(
                preds_S=dict(from_student=True, recorder='feat', data_idx=0),
                labels=_base_.nc_labels,
                preds_T=dict(from_student=False, recorder='feat', data_idx=0)))))
del _nckd
