# VKD, CIFAR-100 (CRD protocol, 240 epochs): vgg8 student <- resnet50 teacher.
# Published VKD top-1: 74.95 (Miles et al., CVPR 2024). Teacher: the public CRD
# checkpoint ResNet50.pth (RepDistiller / mdistiller layout, loaded strictly) or
# an MMEngine checkpoint of configs/cifar100/resnet50_240e_cifar100.py.
#   python tools/train.py configs/vkd/vkd_vgg8_resnet50_240e_cifar100.py
_base_ = [
    '../_base_/models/cifar100_crd_zoo.py',
    '../_base_/distill/cifar100_vkd.py',
]
teacher_ckpt = 'checkpoints/cifar100/ResNet50.pth'
model = dict(
    architecture=_base_.vgg8, teacher=_base_.resnet50,
    teacher_ckpt=teacher_ckpt)  # connector widths: inferred from the models
