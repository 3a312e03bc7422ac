# Ablation: logit KD + NC3 prototype-classifier head only. The student's class
# weights are the teacher's normalised centred prototypes (online bank, updated by the
# `bank_coverage` entry), behind an OrthogonalConnector 64 -> 256. Set
# `bank=None, feat_dim=256` in the head for a fixed simplex ETF without the teacher.
# Our formulation: docs/nckd.md.
_base_ = ['../kd/kd_logits_resnet18-w8_resnet18-w32_20e_digits.py']

nc_bank = dict(
    type='PrototypeBank', name='nckd_digits_teacher', num_classes=10,
    feat_dim=256, mode='online', momentum=None)

model = dict(
    architecture=dict(
        head=dict(
            _delete_=True,
            type='NC3Head',
            num_classes=10,
            in_channels=64,
            bank=nc_bank,
            projector=dict(
                type='OrthogonalConnector', in_channels=64, out_channels=256),
            scale=16.0,
            loss=dict(type='CrossEntropyLoss', loss_weight=1.0))),
    distiller=dict(
        student_recorders=dict(
            labels=dict(type='ModuleInputs', source='head.loss_module')),
        teacher_recorders=dict(feat=dict(type='ModuleOutputs', source='neck')),
        distill_losses=dict(bank_coverage=nc_bank),
        loss_forward_mappings=dict(
            bank_coverage=dict(
                preds_T=dict(from_student=False, recorder='feat', data_idx=0),
                labels=dict(from_student=True, recorder='labels', data_idx=1)))),
)
val_evaluator = [
    dict(type='mmpretrain.Accuracy', topk=(1, )),
    dict(type='mmpretrain.NeuralCollapseMetric'),
]
test_evaluator = val_evaluator
custom_hooks = [dict(type='mmkd_ext.NCFeatureHook')]
