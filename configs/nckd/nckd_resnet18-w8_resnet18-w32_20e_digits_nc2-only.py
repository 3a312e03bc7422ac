# Ablation: logit KD + NC2 ETF-structure transfer only (linear student head).
# NC2 compares cosine Gram matrices of centred class means, which no orthogonal map
# changes, so the student's own 64-d neck feature is used directly (no projector) and
# the teacher's class means come from the same batch: NCKDDistiller without a bank.
# Our formulation: docs/nckd.md.
_base_ = ['../kd/kd_resnet18-w8_resnet18-w32_20e_digits.py']

model = dict(
    distiller=dict(
        type='NCKDDistiller',
        student_recorders=dict(
            feat=dict(type='ModuleOutputs', source='neck'),
            labels=dict(type='ModuleInputs', source='head.loss_module')),
        teacher_recorders=dict(feat=dict(type='ModuleOutputs', source='neck')),
        distill_losses=dict(
            loss_nc2=dict(
                type='NC2StructureLoss', teacher_means='batch', loss_weight=5.0)),
        loss_forward_mappings=dict(
            loss_nc2=dict(
                preds_S=dict(from_student=True, recorder='feat', data_idx=0),
                labels=dict(from_student=True, recorder='labels', data_idx=1),
                preds_T=dict(from_student=False, recorder='feat', data_idx=0)))), )
val_evaluator = [
    dict(type='mmpretrain.Accuracy', topk=(1, )),
    dict(type='mmpretrain.NeuralCollapseMetric'),
]
test_evaluator = val_evaluator
custom_hooks = [dict(type='mmkd_ext.NCFeatureHook')]
