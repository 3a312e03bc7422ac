# ViDT's own token-matching KD (Song et al., ICLR 2022, Eq. 3), the baseline for VKD:
# the student's 4 projected patch levels, projected backbone [DET] tokens and decoder
# states are matched to the Swin-base teacher's (all 256-d, no adapter), weight 4.
#   python tools/train.py configs/token_matching/vidt_swin_nano_coco.py \
#       --cfg-options model.teacher_ckpt=work_dirs/vidt_swin_base_50e_coco/epoch_50.pth
_base_ = ['../vkd/vidt_swin_nano_coco.py']
model = dict(
    distiller=dict(
        _delete_=True,
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
