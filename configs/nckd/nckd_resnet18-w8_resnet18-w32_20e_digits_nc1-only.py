# Ablation: logit KD + NC1 prototype alignment only (linear student head).
# The student's 64-d neck feature is projected to the teacher's 256-d space by an
# OrthogonalConnector in the distiller; labels come from a ModuleInputs recorder on
# the student head's loss module (data_idx=1); NCKDDistiller owns the online bank,
# updates it once per step and hands it to NC1. Our formulation: docs/nckd.md.
_base_ = ['../kd/kd_resnet18-w8_resnet18-w32_20e_digits.py']

nc_labels = dict(from_student=True, recorder='labels', data_idx=1)
model = dict(
    distiller=dict(
        type='NCKDDistiller',
        bank=dict(num_classes=10, mode='online', momentum=None),
        bank_forward_mappings=dict(
            preds_T=dict(from_student=False, recorder='feat', data_idx=0),
            labels=nc_labels),
        student_recorders=dict(
            feat=dict(type='ModuleOutputs', source='neck'),
            labels=dict(type='ModuleInputs', source='head.loss_module')),
        teacher_recorders=dict(feat=dict(type='ModuleOutputs', source='neck')),
        connectors=dict(nc_proj=dict(type='OrthogonalConnector')),  # 64 -> 256
        distill_losses=dict(
            loss_nc1=dict(
                type='NC1AlignLoss', mode='contrastive', temperature=0.1,
                loss_weight=1.0)),
        loss_forward_mappings=dict(
            loss_nc1=dict(
                preds_S=dict(
                    from_student=True, recorder='feat', data_idx=0, connector='nc_proj'),
                labels=nc_labels))), )
val_evaluator = [
    dict(type='mmpretrain.Accuracy', topk=(1, )),
    dict(type='mmpretrain.NeuralCollapseMetric'),
]
test_evaluator = val_evaluator
custom_hooks = [dict(type='mmkd_ext.NCFeatureHook')]
