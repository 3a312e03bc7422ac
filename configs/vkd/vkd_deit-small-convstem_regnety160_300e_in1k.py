# VKD on ImageNet-1k: DeiT-S student <- RegNetY-160 teacher; everything as in the DeiT-Ti
# config (the VKD reference run, `--student-model deit_s_distilled`) except the
# student's width (384): conv-stem DeiT-S with the mean-pooled distillation token,
# 23.8 M parameters. Published top-1: 82.3 with VKD (81.2 DeiT distilled, 79.8 without
# teacher).
#   python tools/train.py \
#       configs/vkd/vkd_deit-small-convstem_regnety160_300e_in1k.py --amp \
#       --cfg-options model.teacher_ckpt=checkpoints/regnety_160-a5fe301d.pth
# (the set-up of ./vkd_deit-tiny-convstem_regnety160_300e_in1k.py, written out: no
# leaf inherits another leaf)
_base_ = [
    '../_base_/models/deit-distilled_in1k.py',
    '../_base_/datasets/imagenet_bs512_deit-3aug.py',
    '../_base_/schedules/imagenet_adamw_300e_deit.py',
    '../_base_/default_runtime.py',
]
default_scope = 'mmrazor'
teacher_ckpt = 'checkpoints/regnety_160-a5fe301d.pth'

# `student` stays the DeiT-Ti dict of the DeiT-Ti config (a name only, unused here)
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
    # the projector's input width (384) is inferred from the student
    architecture=_base_.deit_small_convstem,
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
