# NCKD on the CRD CIFAR-100 benchmark, on top of logit KD (cifar100_kd.py): NC1
# prototype alignment (contrastive, weight 1) + NC2 ETF-structure transfer (weight 5)
# + the NC3 prototype-classifier head, teacher prototypes kept online (our formulation
# of the AAAI 2025 paper, docs/nckd.md).
# * NCKDDistiller owns the one PrototypeBank (distiller.bank.* in checkpoints),
#   updates it once per step from the teacher's pooled feature (the neck) and the
#   labels, and hands it to NC1 and to the student's NC3Head;
# * the student head is `nc3_head`: an orthogonal projector g (student width ->
#   teacher width) and the bank's normalised centred teacher class means as fixed
#   class weights; NC1 / NC2 read g(h^S) from the head's projector; labels come from
#   the student head's loss-module input (data_idx=1 is the target).
# A pair config sets `architecture` (its head: `nc3_head`), `teacher` and
# `teacher_ckpt`; the head's widths and the bank's `feat_dim` (the teacher width) are
# inferred from the models when the algorithm is built (docs/custom_student.md).
_base_ = ['./cifar100_kd.py']

nc3_head = dict(
    type='NC3Head',
    num_classes=100,
    class_weights='prototypes',
    projector=dict(type='OrthogonalConnector'),  # student -> teacher width
    scale=16.0,
    learnable_scale=False,
    loss=dict(type='CrossEntropyLoss', loss_weight=1.0))

nc_labels = dict(from_student=True, recorder='labels', data_idx=1)
nc_proj = dict(from_student=True, recorder='proj')
nc_teacher_feat = dict(from_student=False, recorder='feat', data_idx=0)
model = dict(
    distiller=dict(
        type='NCKDDistiller',
        bank=dict(num_classes=100, mode='online', momentum=None),
        bank_forward_mappings=dict(preds_T=nc_teacher_feat, labels=nc_labels),
        student_recorders=dict(
            proj=dict(type='ModuleOutputs', source='head.projector'),
            labels=dict(type='ModuleInputs', source='head.loss_module')),
        teacher_recorders=dict(feat=dict(type='ModuleOutputs', source='neck')),
        distill_losses=dict(
            loss_nc1=dict(
                type='NC1AlignLoss', mode='contrastive', temperature=0.1,
                loss_weight=1.0),
            loss_nc2=dict(
                type='NC2StructureLoss', teacher_means='batch', loss_weight=5.0)),
        loss_forward_mappings=dict(
            loss_nc1=dict(preds_S=nc_proj, labels=nc_labels),
            loss_nc2=dict(preds_S=nc_proj, labels=nc_labels, preds_T=nc_teacher_feat))))

# NC metrics of the student (nc/...) and the teacher at every validation
val_evaluator = [
    dict(type='mmpretrain.Accuracy', topk=(1, 5)),
    dict(type='mmpretrain.NeuralCollapseMetric'),
]
test_evaluator = val_evaluator
custom_hooks = [dict(type='mmkd_ext.NCFeatureHook')]
