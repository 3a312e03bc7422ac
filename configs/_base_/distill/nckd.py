# NCKD on top of logit KD (./kd.py), dataset-agnostic: NC1 prototype alignment
# (contrastive, weight 1) + NC2 ETF-structure transfer (weight 5) + the NC3
# prototype-classifier head, teacher prototypes kept online (our formulation of the
# AAAI 2025 paper, docs/nckd.md).
# * NCKDDistiller owns the one PrototypeBank (model.distiller.bank, saved in checkpoints
#   as distiller.bank.*), updates it once per step from the teacher's pooled feature
#   (the neck) and the labels (bank_forward_mappings), logs its coverage as
#   distill.bank_coverage, and hands it to NC1 and to the student's NC3Head;
# * the student head is `nc3_head`: an orthogonal projector g (student width -> teacher
#   width) and the bank's normalised centred teacher class means as fixed class weights
#   (no trainable class-weight matrix; kept in the head's fc.prototypes buffer for
#   evaluation without the distiller); NC1 / NC2 read g(h^S) from the head's projector
#   (one projection per step);
# * labels come from a ModuleInputs recorder on the student head's loss module
#   (ClsHead calls loss_module(cls_score, target, ...): data_idx=1 is the target).
# The head's widths and the bank's `feat_dim` (the teacher width) are inferred from the
# models when the algorithm is built (docs/custom_student.md). A config using it sets
# the networks as for ./kd.py, the student head to `nc3_head`, the number of classes
# (head and bank) and `val_evaluator = [<its Accuracy>, _base_.nc_metric]`.
_base_ = ['./kd.py']

nc3_head = dict(
    type='NC3Head',
    num_classes=None,  # the data set's
    class_weights='prototypes',
    projector=dict(type='OrthogonalConnector'),  # student -> teacher width
    scale=16.0,
    learnable_scale=False,
    loss=dict(type='CrossEntropyLoss', loss_weight=1.0))
# NC metrics of the student (nc/...) and of the teacher (teacher.nc/...), next to the
# data set's Accuracy; NCFeatureHook hands them the pooled features
nc_metric = dict(type='mmpretrain.NeuralCollapseMetric')
custom_hooks = [dict(type='mmkd_ext.NCFeatureHook')]

nc_labels = dict(from_student=True, recorder='labels', data_idx=1)
nc_proj = dict(from_student=True, recorder='proj')
nc_teacher_feat = dict(from_student=False, recorder='feat', data_idx=0)
model = dict(
    distiller=dict(
        type='NCKDDistiller',
        # file mode: python tools/analysis_tools/extract_prototypes.py TEACHER_CONFIG \
        #   TEACHER.pth --out protos.pth, then bank=dict(..., mode='file', path=...)
        bank=dict(num_classes=None, mode='online', momentum=None),
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
