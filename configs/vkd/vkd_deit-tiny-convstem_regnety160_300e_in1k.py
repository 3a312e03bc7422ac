# VKD on ImageNet-1k: DeiT-Ti student <- RegNetY-160 teacher (timm, through MMPretrain's
# TimmClassifier), 300 epochs: the run of the VKD reference code (github:roymiles/vkd,
# train.py / engine.py / models/deit.py, `--student-model deit_ti_distilled`).
# Published top-1: 78.3 with VKD (74.5 DeiT distilled, 72.2 without teacher).
#   python tools/train.py \
#       configs/vkd/vkd_deit-tiny-convstem_regnety160_300e_in1k.py --amp \
#       --cfg-options model.teacher_ckpt=checkpoints/regnety_160-a5fe301d.pth
# Student (configs/_base_/models/deit-distilled_in1k.py): the reference's DeiT with a
# convolutional stem, a distillation token that is the mean of the patch embeddings and
# drop path 0 (6.63 M parameters, not DeiT's 5.91 M; docs/classification.md).
# Losses, each of weight 1 (the reference's --alpha 1 --gamma 1): soft-target CE of the
# class-token head (mixup / cutmix targets smoothed by 0.1); KL at temperature 1
# (batch mean) between the distillation-token head and the teacher's logits; VKD: the
# mean of the patch tokens after the final norm (class and distillation tokens skipped)
# -> orthogonal projection 192 -> 3024, against the teacher's pooled final feature
# standardised per sample (layer norm without affine), smooth L1 (beta 1, mean).
# Test time: the mean of both heads. The reference trains under fp16 autocast with a
# dynamic loss scale: pass --amp. The teacher file may be the DeiT teacher checkpoint
# ({'model': timm names}), a plain timm state dict or an MMEngine checkpoint; loading is
# strict (a file of another model stops the build with an error naming
# model.teacher_ckpt).
_base_ = [
    '../_base_/models/deit-distilled_in1k.py',
    '../_base_/datasets/imagenet_bs512_deit-3aug.py',
    '../_base_/schedules/imagenet_adamw_300e_deit.py',
    '../_base_/default_runtime.py',
]
default_scope = 'mmrazor'
teacher_ckpt = 'checkpoints/regnety_160-a5fe301d.pth'

student = _base_.deit_tiny_convstem
teacher = dict(
    _scope_='mmpretrain',
    type='TimmClassifier',
    model_name='regnety_160',
    pretrained=False,
    num_classes=1000,
    loss=dict(type='CrossEntropyLoss', use_soft=True))

model = dict(
    _scope_='mmrazor',
    type='StrictTeacherDistill',
    data_preprocessor=dict(
        type='mmpretrain.ClsDataPreprocessor',
        **_base_.data_preprocessor,
        batch_augments=dict(augments=[
            dict(type='mmpretrain.Mixup', alpha=0.8),
            dict(type='mmpretrain.CutMix', alpha=1.0),
        ])),
    architecture=student,
    teacher=teacher,
    teacher_ckpt=teacher_ckpt,
    distiller=dict(
        type='StrictConfigurableDistiller',
        student_recorders=dict(
            tokens=dict(type='ModuleOutputs', source='backbone.ln1'),
            # the distillation-token head's logits
            logits=dict(type='ModuleOutputs', source='head.layers.head_dist')),
        teacher_recorders=dict(
            feat=dict(type='ModuleOutputs', source='model.head.global_pool'),
            logits=dict(type='ModuleOutputs', source='model.head.fc')),
        connectors=dict(
            vkd_s=dict(
                type='SequentialConnector',
                connectors=[
                    dict(type='TokenMeanPoolConnector', num_skip_tokens=2),
                    # widths inferred from the models: 192 (384 for DeiT-S) -> 3024
                    dict(type='OrthogonalConnector'),
                ]),
            vkd_t=dict(type='FeatureStandardizer', mode='sample')),
        distill_losses=dict(
            loss_vkd=dict(
                type='VKDLoss', loss_type='smooth_l1', beta=1.0, loss_weight=1.0),
            loss_kl=dict(type='KLDivergence', tau=1, loss_weight=1.0)),
        loss_forward_mappings=dict(
            loss_vkd=dict(
                preds_S=dict(from_student=True, recorder='tokens', connector='vkd_s'),
                preds_T=dict(from_student=False, recorder='feat', connector='vkd_t')),
            loss_kl=dict(
                preds_S=dict(from_student=True, recorder='logits'),
                preds_T=dict(from_student=False, recorder='logits')))),
)
find_unused_parameters = False
