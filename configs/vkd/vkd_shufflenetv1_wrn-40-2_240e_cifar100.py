# VKD, CIFAR-100 (CRD protocol, 240 epochs): shufflenetv1 student <- wrn-40-2 teacher.
# Published VKD top-1: 77.19 (Miles et al., CVPR 2024). Teacher: the public CRD
# checkpoint wrn_40_2.pth (RepDistiller / mdistiller layout, loaded strictly) or
# an MMEngine checkpoint of configs/cifar100/wrn-40-2_240e_cifar100.py.
#   python tools/train.py configs/vkd/vkd_shufflenetv1_wrn-40-2_240e_cifar100.py
_base_ = [
    '../_base_/models/cifar100_crd_zoo.py',
    '../_base_/distill/cifar100_vkd.py',
]
teacher_ckpt = 'checkpoints/cifar100/wrn_40_2.pth'
model = dict(
    architecture=_base_.shufflenetv1, teacher=_base_.wrn_40_2,
    teacher_ckpt=teacher_ckpt)  # connector widths: inferred from the models
# lr 0.01 for MobileNetV2 / ShuffleNet students (CRD protocol)
optim_wrapper = dict(optimizer=dict(lr=0.01))
