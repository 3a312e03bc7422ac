# DeiT's distillation-token KD alone (the VKD paper's baseline, the study's positive
# control against the student alone): class-token CE + KL (T = 1) of the distillation
# token to the teacher's logits; no feature term.
_base_ = ['./vkd_deit-tiny-convstem-mini_resnet18-w32_20e_digits-16px.py']
model = dict(
    distiller=dict(
        student_recorders=dict(
            _delete_=True, logits=_base_.model.distiller.student_recorders.logits),
        teacher_recorders=dict(
            _delete_=True, logits=_base_.model.distiller.teacher_recorders.logits),
        connectors=dict(_delete_=True),
        distill_losses=dict(
            _delete_=True, loss_kl=_base_.model.distiller.distill_losses.loss_kl),
        loss_forward_mappings=dict(
            _delete_=True, loss_kl=_base_.model.distiller.loss_forward_mappings.loss_kl)))
