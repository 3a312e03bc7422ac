# The ViDT distillation set-up shared by the VKD and token-matching configs: the ViDT
# Swin-nano student (configs/_base_/models/vidt_swin-nano.py) and a ViDT Swin-base
# teacher loaded strictly from `model.teacher_ckpt` (StrictTeacherDistill), run
# without gradients and with dropout / drop-path off (its forward is deterministic, as
# in eval mode; ViDT has no BatchNorm). The student's own detection losses are kept.
# A config using it adds `model.distiller`; another teacher is
# `model = dict(teacher_ckpt=PATH, teacher=dict(backbone=dict(arch='small')))` (its
# neck widths follow the backbone).
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
    calculate_student_loss=True)
find_unused_parameters = True
