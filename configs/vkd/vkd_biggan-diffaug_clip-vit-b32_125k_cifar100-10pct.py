# VKD discriminator distillation (CLIP ViT-B/32 teacher, orthogonal connector,
# whitened targets) on the DiffAugment-BigGAN, CIFAR100 10% data.
# Teacher weights: see configs/_base_/gan/clip-vit-b32_teacher.py.
_base_ = [
    '../_base_/gan/gan_runtime.py',
    '../_base_/gan/biggan-diffaug_cifar100.py',
    '../_base_/gan/clip-vit-b32_teacher.py',
    '../_base_/gan/vkd_disc_distill.py',
]
model = dict(
    discriminator=dict(distill_dims=_base_.distill_dims),
    teacher=_base_.clip_teacher,
    distill=_base_.vkd_distill,
)
# the GAN recipe of configs/gan/biggan-diffaug_125k_cifar100-10pct.py
train_dataloader = dict(dataset=dict(subset_ratio=0.1, subset_seed=0))
train_cfg = dict(max_iters=125000)
