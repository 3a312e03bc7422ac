# ViDT's own token-matching KD (Song et al., ICLR 2022, sec. 3.3; the criterion of the
# reference code, see docs/detection.md) on the set-up of ./vidt_swin-base_teacher.py:
# the student's 4 projected patch levels (neck), projected backbone [DET] tokens
# (tgt_proj) and decoder states are matched to the teacher's, weight 4. Both sides are
# 256-d, so no adapter; the [DET] token counts, decoder layers and feature levels of
# student and teacher are checked to match at build time.
_base_ = ['./vidt_swin-base_teacher.py']
model = dict(
    distiller=dict(
        type='StrictConfigurableDistiller',
        student_recorders=dict(
            neck=dict(type='ModuleOutputs', source='neck'),
            det=dict(type='ModuleOutputs', source='tgt_proj'),
            dec=dict(type='ModuleOutputs', source='decoder')),
        teacher_recorders=dict(
            neck=dict(type='ModuleOutputs', source='neck'),
            det=dict(type='ModuleOutputs', source='tgt_proj'),
            dec=dict(type='ModuleOutputs', source='decoder')),
        distill_losses=dict(loss_tm=dict(type='TokenMatchingLoss', loss_weight=4.0)),
        loss_forward_mappings=dict(
            loss_tm=dict(
                patch_s=dict(from_student=True, recorder='neck'),
                patch_t=dict(from_student=False, recorder='neck'),
                det_s=dict(from_student=True, recorder='det'),
                det_t=dict(from_student=False, recorder='det'),
                dec_s=dict(from_student=True, recorder='dec', data_idx=0),
                dec_t=dict(from_student=False, recorder='dec', data_idx=0)))))
