# NCKD on top of logit KD (digits): NC1 prototype alignment + NC2 ETF-structure
# transfer + NC3 prototype-classifier head, teacher prototypes kept online.
# The NC terms are our formulation (shared/design/nckd.md, docs/nckd.md).
# Train the teacher first:
#   python tools/train.py configs/digits/resnet18-w32_20e_digits.py
#   python tools/train.py configs/nckd/nckd_resnet18-w8_resnet18-w32_20e_digits.py
#
# How the pieces meet:
# * NCKDDistiller owns the one PrototypeBank (model.distiller.bank, saved in
#   checkpoints as distiller.bank.*), updates it once per step from the teacher's
#   256-d neck feature and the labels (bank_forward_mappings), logs its coverage as
#   distill.bank_coverage, and hands it to NC1 and to the student's NC3Head;
# * the student's head is NC3Head: an OrthogonalConnector projects the 64-d student
#   feature into the teacher's 256-d space (g; both widths, the head's in_channels and
#   the bank's feat_dim are inferred from the models when the algorithm is built),
#   the class weights are the bank's
#   normalised centred teacher prototypes (no trainable class weights; kept in the
#   head's fc.prototypes buffer for evaluation without the distiller);
# * NC1 / NC2 read g(h^S) from the head's projector (one projection per step);
# * labels come from a ModuleInputs recorder on the student head's loss module
#   (ClsHead calls loss_module(cls_score, target, ...): data_idx=1 is the target).
_base_ = ['../kd/kd_resnet18-w8_resnet18-w32_20e_digits.py']

nc_labels = dict(from_student=True, recorder='labels', data_idx=1)
nc_proj = dict(from_student=True, recorder='proj')
nc_teacher_feat = dict(from_student=False, recorder='feat', data_idx=0)
model = dict(
    architecture=dict(
        head=dict(
            _delete_=True,
            type='NC3Head',
            num_classes=10,
            class_weights='prototypes',
            projector=dict(type='OrthogonalConnector'),
            scale=16.0,
            learnable_scale=False,
            loss=dict(type='CrossEntropyLoss', loss_weight=1.0))),
    distiller=dict(
        type='NCKDDistiller',
        # file mode: python tools/analysis_tools/extract_prototypes.py \
        #   configs/digits/resnet18-w32_20e_digits.py TEACHER.pth --out protos.pth
        # then bank=dict(..., mode='file', path='protos.pth')
        bank=dict(num_classes=10, mode='online', momentum=None),
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
            loss_nc2=dict(
                preds_S=nc_proj, labels=nc_labels, preds_T=nc_teacher_feat))),
)

# NC metrics of the student (nc/...) and teacher (teacher.nc/...) at every validation
val_evaluator = [
    dict(type='mmpretrain.Accuracy', topk=(1, )),
    dict(type='mmpretrain.NeuralCollapseMetric'),
]
test_evaluator = val_evaluator
custom_hooks = [dict(type='mmkd_ext.NCFeatureHook')]
