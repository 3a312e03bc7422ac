# VKD for detection: ViDT Swin-nano student distilled from a ViDT Swin-base teacher
# (Miles et al., CVPR 2024; shared/design/vkd.md, vidt.md). Six 256->256 orthogonal
# projectors (4 patch levels after the input projection, backbone [DET] tokens, one
# shared over the decoder states), per-dimension batch standardisation of both sides,
# six smooth-L1 terms (weight 4 each) added to the student's own detection losses.
#   python tools/train.py configs/vkd/vidt_swin_nano_coco.py \
#       --cfg-options model.teacher_ckpt=work_dirs/vidt_swin_base_50e_coco/epoch_50.pth
_base_ = ['../vidt/vidt_swin_nano_50e_coco.py']

teacher_ckpt = 'work_dirs/vidt_swin_base_50e_coco/epoch_50.pth'
teacher_arch = 'base'
teacher_widths = [256, 512, 1024, 256]

student = dict(_base_.model, _scope_='mmdet')
# The teacher runs with dropout / drop-path off (its forward is deterministic, as in
# eval mode; ViDT has no BatchNorm) and without gradients.
teacher = dict(
    _base_.model,
    _scope_='mmdet',
    backbone=dict(_base_.model.backbone, arch=teacher_arch, drop_path_rate=0.0),
    neck=dict(_base_.model.neck, in_channels=teacher_widths),
    decoder=dict(
        _base_.model.decoder,
        layer_cfg=dict(
            self_attn_cfg=dict(
                embed_dims=256, num_heads=8, dropout=0.0, batch_first=True),
            cross_attn_cfg=dict(
                embed_dims=256, num_heads=8, num_levels=4, num_points=4,
                batch_first=True),
            ffn_cfg=dict(embed_dims=256, feedforward_channels=1024, ffn_drop=0.0))))

_ortho = dict(type='OrthogonalConnector', in_channels=256, out_channels=256,
              learnable_scale_bias=True)
_std = dict(type='FeatureStandardizer', mode='batch')
_flat = dict(type='FlattenTokensConnector', channel_dim=-1)
_names = ['p0', 'p1', 'p2', 'p3', 'det', 'dec']
# (recorder, data_idx) of each distilled feature
_sources = [('neck', 0), ('neck', 1), ('neck', 2), ('neck', 3), ('det', None),
            ('dec', 0)]


def _pre(name):
    return [_flat] if name == 'dec' else []


model = dict(
    _delete_=True,
    _scope_='mmrazor',
    type='StrictTeacherDistill',
    data_preprocessor=dict(
        type='mmdet.DetDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=1),
    architecture=student,
    teacher=teacher,
    teacher_ckpt=teacher_ckpt,
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
        connectors={
            **{f's_{n}': dict(type='SequentialConnector',
                              connectors=_pre(n) + [_ortho, _std]) for n in _names},
            **{f't_{n}': dict(type='SequentialConnector',
                              connectors=_pre(n) + [_std]) for n in _names},
        },
        distill_losses={
            f'loss_vkd_{n}': dict(type='VKDLoss', loss_type='smooth_l1', beta=1.0,
                                  loss_weight=4.0) for n in _names
        },
        loss_forward_mappings={
            f'loss_vkd_{n}': dict(
                preds_S=dict(from_student=True, recorder=rec, connector=f's_{n}',
                             **({} if idx is None else dict(data_idx=idx))),
                preds_T=dict(from_student=False, recorder=rec, connector=f't_{n}',
                             **({} if idx is None else dict(data_idx=idx))))
            for n, (rec, idx) in zip(_names, _sources)
        }))
find_unused_parameters = True
