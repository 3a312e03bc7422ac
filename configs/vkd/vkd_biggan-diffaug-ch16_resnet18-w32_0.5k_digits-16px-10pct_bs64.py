# Variant of vkd_biggan-diffaug-ch16_resnet18-w32_0.5k_digits-16px-10pct.py:
# twice the batch, 64 images per G step, so each of the 2 D steps whitens the teacher
# targets of 32 real + 32 fake images (64 rows for a 256-d teacher instead of 32): the
# whitening batch-size arm of the GAN study (docs/studies.md).
_base_ = ['./vkd_biggan-diffaug-ch16_resnet18-w32_0.5k_digits-16px-10pct.py']
train_dataloader = dict(batch_size=64)
