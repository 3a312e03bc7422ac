# NCKD (NC1 + NC2 + NC3 head, online teacher prototypes) on top of logit KD,
# CIFAR-100 (CRD protocol, 240 epochs): resnet8x4 student <- resnet32x4 teacher.
# Teacher: the public CRD checkpoint resnet32x4.pth (RepDistiller / mdistiller layout,
# loaded strictly) or an MMEngine checkpoint of
# configs/cifar100/resnet32x4_240e_cifar100.py.
#   python tools/train.py configs/nckd/nckd_resnet8x4_resnet32x4_240e_cifar100.py
_base_ = [
    '../_base_/models/cifar100_crd_zoo.py',
    '../_base_/distill/cifar100_nckd_kd.py',
]
student = _base_.resnet8x4
teacher = _base_.resnet32x4
d_s, d_t = student.head.in_channels, teacher.head.in_channels  # 256, 256
model = dict(
    architecture=dict(
        student,
        head=dict(
            _base_.nc3_head,
            in_channels=d_s,
            projector=dict(_base_.nc3_head.projector, in_channels=d_s,
                           out_channels=d_t))),
    teacher=teacher,
    teacher_ckpt='checkpoints/cifar100/resnet32x4.pth',
    distiller=dict(bank=dict(feat_dim=d_t)))
