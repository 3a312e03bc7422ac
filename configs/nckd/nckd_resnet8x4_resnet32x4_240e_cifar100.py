# NCKD (NC1 + NC2 + NC3 head, online teacher prototypes) on top of logit KD,
# CIFAR-100 (CRD protocol, 240 epochs): resnet8x4 student <- resnet32x4 teacher.
# Teacher: the public CRD checkpoint resnet32x4.pth (RepDistiller / mdistiller layout,
# loaded strictly) or an MMEngine checkpoint of
# configs/cifar100/resnet32x4_240e_cifar100.py.
#   python tools/train.py configs/nckd/nckd_resnet8x4_resnet32x4_240e_cifar100.py
_base_ = [
    '../_base_/models/cifar100_crd_zoo.py',
    '../_base_/distill/cifar100_nckd.py',
]
model = dict(
    architecture=dict(_base_.resnet8x4, head=_base_.nc3_head),  # widths inferred
    teacher=_base_.resnet32x4,
    teacher_ckpt='checkpoints/cifar100/resnet32x4.pth')
