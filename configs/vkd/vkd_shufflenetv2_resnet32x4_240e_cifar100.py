# VKD, CIFAR-100 (CRD protocol, 240 epochs): shufflenetv2 student <- resnet32x4 teacher.
# Published VKD top-1: 77.51 (Miles et al., CVPR 2024). Teacher: the public CRD
# checkpoint resnet32x4.pth (RepDistiller / mdistiller layout, loaded strictly) or
# an MMEngine checkpoint of configs/cifar100/resnet32x4_240e_cifar100.py.
#   python tools/train.py configs/vkd/vkd_shufflenetv2_resnet32x4_240e_cifar100.py
_base_ = [
    '../_base_/models/cifar100_crd_zoo.py',
    '../_base_/distill/cifar100_vkd.py',
]
teacher_ckpt = 'checkpoints/cifar100/resnet32x4.pth'
model = dict(
    architecture=_base_.shufflenetv2,
    teacher=_base_.resnet32x4,
    teacher_ckpt=teacher_ckpt)  # connector widths: inferred from the models
# lr 0.01 for MobileNetV2 / ShuffleNet students (CRD protocol)
optim_wrapper = dict(optimizer=dict(lr=0.01))
