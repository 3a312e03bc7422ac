# VKD discriminator distillation on the CPU-sized digits BigGAN of the paired GAN study
# (configs/gan/biggan-diffaug-ch16_0.5k_digits-16px-10pct.py): D head 16 -> 1024 -> 512,
# orthogonal connector 512 -> 256, whitened targets of the frozen ResNet-18-w32 digits
# teacher (configs/digits/resnet18-w32_20e_digits.py, 256-d, fed with the
# normalisation it was trained with), smooth L1, weight 10.
#   python tools/train.py configs/digits/resnet18-w32_20e_digits.py
#   python tools/train.py \
#       configs/vkd/vkd_biggan-diffaug-ch16_resnet18-w32_0.5k_digits-16px-10pct.py
_base_ = [
    '../_base_/gan/biggan-diffaug_digits.py',
    '../_base_/gan/digits_teacher.py',
    '../_base_/gan/vkd_disc_distill.py',
]
# the GAN recipe of configs/gan/biggan-diffaug-ch16_0.5k_digits-16px-10pct.py
img_size = 16
max_iters = 500
model = dict(
    generator=dict(ch=16, num_blocks=2),  # 4 * 2**2 = 16
    discriminator=dict(ch=16, num_blocks=3, num_down=2, distill_dims=_base_.distill_dims),
    ema_decay=0.99,
    ema_start=100,
    teacher=_base_.digits_teacher,
    distill=_base_.vkd_distill,
)
train_dataloader = dict(
    batch_size=32, dataset=dict(img_size=img_size, subset_ratio=0.1, subset_seed=0))
val_dataloader = dict(dataset=dict(num_samples=500))
test_dataloader = val_dataloader
# FID etc. on the classifier of configs/digits/resnet18-w8_20e_digits.py, which was
# trained at this resolution (the base's normalisation, no resize)
val_evaluator = dict(real_dataset=dict(img_size=img_size), prdc_num=360)
test_evaluator = val_evaluator
optim_wrapper = dict(
    generator=dict(optimizer=dict(lr=5e-4)), discriminator=dict(optimizer=dict(lr=5e-4)))
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=max_iters))
custom_hooks = [dict(type='GANSampleGridHook', interval=max_iters, per_class=8)]
