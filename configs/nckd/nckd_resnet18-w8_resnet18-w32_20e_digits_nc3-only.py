# Ablation: logit KD + NC3 prototype-classifier head only, a variant of the NCKD
# digits config (same data, schedule, networks, teacher and online bank). The
# student's class weights are the teacher's normalised centred prototypes
# (NCKDDistiller's online bank, updated once per step and handed to the head), behind
# an OrthogonalConnector 64 -> 256. Set `class_weights='etf', feat_dim=256` in the head
# (and drop the distiller's bank) for a fixed simplex ETF without the teacher.
# Our formulation: docs/nckd.md.
_base_ = ['./nckd_resnet18-w8_resnet18-w32_20e_digits.py']

_nckd = _base_.model.distiller
model = dict(
    distiller=dict(
        _delete_=True,
        type='NCKDDistiller',
        bank=_nckd.bank,
        bank_forward_mappings=_nckd.bank_forward_mappings,
        student_recorders=dict(
            logits=_nckd.student_recorders.logits, labels=_nckd.student_recorders.labels),
        teacher_recorders=_nckd.teacher_recorders,
        distill_losses=dict(loss_kl=_nckd.distill_losses.loss_kl),
        loss_forward_mappings=dict(loss_kl=_nckd.loss_forward_mappings.loss_kl)))
del _nckd
