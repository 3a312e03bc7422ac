# Ablation: logit KD + NC1 prototype alignment only (linear student head), a variant
# of the NCKD digits config (same data, schedule, networks, teacher and online bank).
# The student's 64-d neck feature is projected to the teacher's 256-d space by an
# OrthogonalConnector in the distiller; labels come from a ModuleInputs recorder on
# the student head's loss module (data_idx=1); NCKDDistiller owns the online bank,
# updates it once per step and hands it to NC1. Our formulation: docs/nckd.md.
_base_ = ['./nckd_resnet18-w8_resnet18-w32_20e_digits.py']

_nckd = _base_.model.distiller
model = dict(
    architecture=dict(_delete_=True, **_base_.student_model),  # linear head
    distiller=dict(
        _delete_=True,
        type='NCKDDistiller',
        bank=_nckd.bank,
        bank_forward_mappings=_nckd.bank_forward_mappings,
        student_recorders=dict(
            logits=_nckd.student_recorders.logits,
            feat=dict(type='ModuleOutputs', source='neck'),
            labels=_nckd.student_recorders.labels),
        teacher_recorders=_nckd.teacher_recorders,
        connectors=dict(nc_proj=dict(type='OrthogonalConnector')),  # 64 -> 256
        distill_losses=dict(
            loss_kl=_nckd.distill_losses.loss_kl, loss_nc1=_nckd.distill_losses.loss_nc1),
        loss_forward_mappings=dict(
            loss_kl=_nckd.loss_forward_mappings.loss_kl,
            loss_nc1=dict(
                preds_S=dict(
                    from_student=True, recorder='feat', data_idx=0, connector='nc_proj'),
                labels=_base_.nc_labels))))
del _nckd
