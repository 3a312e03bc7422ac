# ViDT's own token-matching KD (Song et al., ICLR 2022, sec. 3.3; the criterion of the
# reference code, see docs/detection.md) on the set-up of ./vidt_swin-base_teacher.py:
# the student's 4 projected patch levels (neck), projected backbone [DET] tokens
# (tgt_proj) and decoder states are matched to the teacher's, weight 4. Both sides are
# 256-d, so no adapter; the [DET] token counts, decoder layers and feature levels of
# student and teacher are checked to match at build time.
# The set-up of ./vidt_swin-base_teacher.py is written out here (no base of a base:
# the token-matching configs and their variants stay within three _base_ levels).
_base_ = ['../models/vidt_swin-nano.py']
model = dict(
    _delete_=True,
    _scope_='mmrazor',
    type='StrictTeacherDistill',
    data_preprocessor=dict(
        _base_.model.data_preprocessor, type='mmdet.DetDataPreprocessor'),
    architecture=dict(_base_.model, _scope_='mmdet'),
    teacher=dict(
        _base_.model,
        _scope_='mmdet',
        backbone=dict(_base_.model.backbone, arch='base', drop_path_rate=0.0),
        decoder=dict(
            _base_.model.decoder,
            layer_cfg=dict(
                self_attn_cfg=dict(
                    _base_.model.decoder.layer_cfg.self_attn_cfg, dropout=0.0),
                cross_attn_cfg=dict(
                    _base_.model.decoder.layer_cfg.cross_attn_cfg, dropout=0.0),
                ffn_cfg=dict(_base_.model.decoder.layer_cfg.ffn_cfg, ffn_drop=0.0)))),
    teacher_ckpt='work_dirs/vidt_swin-base_50e_coco/epoch_50.pth',
    teacher_trainable=False,
    calculate_student_loss=True,
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
find_unused_parameters = True
