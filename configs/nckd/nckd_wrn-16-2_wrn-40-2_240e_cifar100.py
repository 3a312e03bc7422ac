# NCKD (NC1 + NC2 + NC3 head, online teacher prototypes) on top of logit KD,
# CIFAR-100 (CRD protocol, 240 epochs): wrn-16-2 student <- wrn-40-2 teacher.
# Teacher: the public CRD checkpoint wrn_40_2.pth (RepDistiller / mdistiller layout,
# loaded strictly) or an MMEngine checkpoint of
# configs/cifar100/wrn-40-2_240e_cifar100.py.
#   python tools/train.py configs/nckd/nckd_wrn-16-2_wrn-40-2_240e_cifar100.py
_base_ = [
    '../_base_/models/cifar100_crd_zoo.py',
    '../_base_/distill/cifar100_nckd.py',
]
model = dict(
    architecture=dict(_base_.wrn_16_2, head=_base_.nc3_head),  # widths inferred
    teacher=_base_.wrn_40_2,
    teacher_ckpt='checkpoints/cifar100/wrn_40_2.pth')
