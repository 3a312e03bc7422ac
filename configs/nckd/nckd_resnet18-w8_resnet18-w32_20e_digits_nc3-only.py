# Ablation: logit KD + NC3 prototype-classifier head only. The student's class
# weights are the teacher's normalised centred prototypes (NCKDDistiller's online
# bank, updated once per step and handed to the head), behind an OrthogonalConnector
# 64 -> 256. Set `class_weights='etf', feat_dim=256` in the head (and drop the
# distiller's bank) for a fixed simplex ETF without the teacher.
# Our formulation: docs/nckd.md.
_base_ = ['../kd/kd_resnet18-w8_resnet18-w32_20e_digits.py']

model = dict(
    architecture=dict(
        head=dict(
            _delete_=True,
            type='NC3Head',
            num_classes=10,
            class_weights='prototypes',
            projector=dict(type='OrthogonalConnector'),  # widths inferred
            scale=16.0,
            loss=dict(type='CrossEntropyLoss', loss_weight=1.0))),
    distiller=dict(
        type='NCKDDistiller',
        bank=dict(num_classes=10, mode='online', momentum=None),
        bank_forward_mappings=dict(
            preds_T=dict(from_student=False, recorder='feat', data_idx=0),
            labels=dict(from_student=True, recorder='labels', data_idx=1)),
        student_recorders=dict(
            labels=dict(type='ModuleInputs', source='head.loss_module')),
        teacher_recorders=dict(feat=dict(type='ModuleOutputs', source='neck'))),
)
val_evaluator = [
    dict(type='mmpretrain.Accuracy', topk=(1, )),
    dict(type='mmpretrain.NeuralCollapseMetric'),
]
test_evaluator = val_evaluator
custom_hooks = [dict(type='mmkd_ext.NCFeatureHook')]
