# Ablation: logit KD + NC1 prototype alignment only (linear student head).
# The student's 64-d neck feature is projected to the teacher's 256-d space by an
# OrthogonalConnector in the distiller; labels come from a ModuleInputs recorder on
# the student head's loss module (data_idx=1); the online bank is updated by its own
# `bank_coverage` entry (listed first). Our formulation: docs/nckd.md.
_base_ = ['../kd/kd_logits_resnet18-w8_resnet18-w32_20e_digits.py']

nc_bank = dict(
    type='PrototypeBank', name='nckd_digits_teacher', num_classes=10,
    feat_dim=256, mode='online', momentum=None)

model = dict(
    distiller=dict(
        student_recorders=dict(
            feat=dict(type='ModuleOutputs', source='neck'),
            labels=dict(type='ModuleInputs', source='head.loss_module')),
        teacher_recorders=dict(feat=dict(type='ModuleOutputs', source='neck')),
        connectors=dict(
            nc_proj=dict(
                type='OrthogonalConnector', in_channels=64, out_channels=256)),
        distill_losses=dict(
            bank_coverage=nc_bank,
            loss_nc1=dict(
                type='NC1AlignLoss', bank=nc_bank, mode='contrastive',
                temperature=0.1, loss_weight=1.0)),
        loss_forward_mappings=dict(
            bank_coverage=dict(
                preds_T=dict(from_student=False, recorder='feat', data_idx=0),
                labels=dict(from_student=True, recorder='labels', data_idx=1)),
            loss_nc1=dict(
                preds_S=dict(
                    from_student=True, recorder='feat', data_idx=0,
                    connector='nc_proj'),
                labels=dict(from_student=True, recorder='labels', data_idx=1)))),
)
val_evaluator = [
    dict(type='mmpretrain.Accuracy', topk=(1, )),
    dict(type='mmpretrain.NeuralCollapseMetric'),
]
test_evaluator = val_evaluator
custom_hooks = [dict(type='mmkd_ext.NCFeatureHook')]
