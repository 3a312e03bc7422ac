# VKD, CIFAR-100 (CRD protocol, 240 epochs): mobilenetv2-0.5x student <- vgg13 teacher.
# Published VKD top-1: 70.11 (Miles et al., CVPR 2024). Teacher: the public CRD
# checkpoint vgg13_bn.pth (RepDistiller / mdistiller layout, loaded strictly) or
# an MMEngine checkpoint of configs/cifar100/vgg13_240e_cifar100.py.
#   python tools/train.py configs/vkd/vkd_mobilenetv2-0.5x_vgg13_240e_cifar100.py
_base_ = [
    '../_base_/models/cifar100_crd_zoo.py',
    '../_base_/distill/cifar100_vkd.py',
]
teacher_ckpt = 'checkpoints/cifar100/vgg13_bn.pth'
model = dict(
    architecture=_base_.mobilenetv2_half, teacher=_base_.vgg13,
    teacher_ckpt=teacher_ckpt)  # connector widths: inferred from the models
# lr 0.01 for MobileNetV2 / ShuffleNet students (CRD protocol)
optim_wrapper = dict(optimizer=dict(lr=0.01))
