# VKD discriminator distillation on the CPU-sized digits BigGAN of the paired GAN study
# (configs/gan/biggan-diffaug-ch16_0.5k_digits-16px-10pct.py): D head 16 -> 1024 -> 512,
# orthogonal connector 512 -> 256, whitened targets of the frozen ResNet-18-w32 digits
# teacher (configs/digits/resnet18-w32_20e_digits.py, 256-d, fed with the
# normalisation it was trained with), smooth L1, weight 10.
#   python tools/train.py configs/digits/resnet18-w32_20e_digits.py
#   python tools/train.py \
#       configs/vkd/vkd_biggan-diffaug-ch16_resnet18-w32_0.5k_digits-16px-10pct.py
_base_ = [
    '../gan/biggan-diffaug-ch16_0.5k_digits-16px-10pct.py',
    '../_base_/gan/digits_teacher.py',
    '../_base_/gan/vkd_disc_distill.py',
]
model = dict(
    discriminator=dict(distill_dims=_base_.distill_dims),
    teacher=_base_.digits_teacher,
    distill=_base_.vkd_distill,
)
