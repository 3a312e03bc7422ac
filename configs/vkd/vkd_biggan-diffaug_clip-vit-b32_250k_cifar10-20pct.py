# VKD discriminator distillation (CLIP ViT-B/32 teacher, orthogonal connector,
# whitened targets) on the DiffAugment-BigGAN, CIFAR10 20% data.
# Teacher weights: see configs/_base_/gan/clip-vit-b32_teacher.py.
_base_ = [
    '../gan/biggan-diffaug_250k_cifar10-20pct.py',
    '../_base_/gan/clip-vit-b32_teacher.py',
    '../_base_/gan/vkd_disc_distill.py',
]
model = dict(
    discriminator=dict(distill_dims=_base_.distill_dims),
    teacher=_base_.clip_teacher,
    distill=_base_.vkd_distill,
)
