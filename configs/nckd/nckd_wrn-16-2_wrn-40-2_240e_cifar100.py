# NCKD on top of logit KD, CIFAR-100 (CRD protocol, 240 epochs): wrn-16-2 student <-
# wrn-40-2 teacher. NC1 prototype alignment + NC2 ETF-structure transfer + the NC3
# prototype-classifier head (our formulation of the AAAI 2025 paper, docs/nckd.md),
# teacher prototypes kept online. Teacher: the public CRD checkpoint wrn_40_2.pth
# (RepDistiller / mdistiller layout, loaded strictly) or an MMEngine checkpoint of
# configs/cifar100/wrn-40-2_240e_cifar100.py.
#   python tools/train.py configs/nckd/nckd_wrn-16-2_wrn-40-2_240e_cifar100.py
# The student head is NC3Head: an orthogonal projector g (128 -> 128) and the bank's
# normalised centred teacher class means as fixed class weights; NC1 / NC2 read g(h^S)
# from the head's projector; labels come from the student head's loss-module input.
_base_ = [
    '../_base_/models/cifar100_crd_zoo.py',
    '../_base_/distill/cifar100_kd.py',
]
teacher_ckpt = 'checkpoints/cifar100/wrn_40_2.pth'
nc_bank = dict(
    type='PrototypeBank', name='nckd_cifar100_wrn_40_2', num_classes=100,
    feat_dim=128, mode='online', momentum=None)
student = _base_.wrn_16_2
student.update(
    head=dict(
        type='NC3Head',
        num_classes=100,
        in_channels=128,
        bank=nc_bank,
        projector=dict(
            type='OrthogonalConnector', in_channels=128, out_channels=128),
        scale=16.0,
        learnable_scale=False,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
model = dict(
    architecture=student,
    teacher=_base_.wrn_40_2,
    teacher_ckpt=teacher_ckpt,
    distiller=dict(
        student_recorders=dict(
            proj=dict(type='ModuleOutputs', source='head.projector'),
            labels=dict(type='ModuleInputs', source='head.loss_module')),
        teacher_recorders=dict(feat=dict(type='ModuleOutputs', source='neck')),
        distill_losses=dict(
            bank_coverage=nc_bank,
            loss_nc1=dict(
                type='NC1AlignLoss', bank=nc_bank, mode='contrastive',
                temperature=0.1, loss_weight=1.0),
            loss_nc2=dict(
                type='NC2StructureLoss', teacher_means='batch', loss_weight=5.0)),
        loss_forward_mappings=dict(
            bank_coverage=dict(
                preds_T=dict(from_student=False, recorder='feat', data_idx=0),
                labels=dict(from_student=True, recorder='labels', data_idx=1)),
            loss_nc1=dict(
                preds_S=dict(from_student=True, recorder='proj'),
                labels=dict(from_student=True, recorder='labels', data_idx=1)),
            loss_nc2=dict(
                preds_S=dict(from_student=True, recorder='proj'),
                labels=dict(from_student=True, recorder='labels', data_idx=1),
                preds_T=dict(from_student=False, recorder='feat', data_idx=0)))))
# NC metrics of the student (nc/...) and the teacher at every validation
val_evaluator = [
    dict(type='mmpretrain.Accuracy', topk=(1, 5)),
    dict(type='mmpretrain.NeuralCollapseMetric'),
]
test_evaluator = val_evaluator
custom_hooks = [dict(type='mmkd_ext.NCFeatureHook')]
