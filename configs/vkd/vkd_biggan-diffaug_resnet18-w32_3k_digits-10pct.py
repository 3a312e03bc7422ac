# VKD discriminator distillation on the small digits BigGAN (10% data): D head
# 64 -> 1024 -> 512, orthogonal connector 512 -> 256 (rows orthonormal), whitened
# targets of the frozen ResNet-18-w32 digits teacher (256-d).
_base_ = [
    '../_base_/gan/biggan-diffaug_digits.py',
    '../_base_/gan/digits_teacher.py',
    '../_base_/gan/vkd_disc_distill.py',
]
model = dict(
    discriminator=dict(distill_dims=_base_.distill_dims),
    teacher=_base_.digits_teacher,
    distill=_base_.vkd_distill,  # connector 512 -> 256, inferred
)
# 10% of the digits, as configs/gan/biggan-diffaug_3k_digits-10pct.py
train_dataloader = dict(dataset=dict(subset_ratio=0.1, subset_seed=0))
