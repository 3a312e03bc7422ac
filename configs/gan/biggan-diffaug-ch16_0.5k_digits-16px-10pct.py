# CPU-sized DiffAugment BigGAN on 10% of the digits (144 images): the baseline of the
# paired GAN study (tools/benchmark/digits_gan.py, docs/studies.md). The recipe of
# biggan-diffaug_3k_digits-10pct.py at 16x16 (the resolution of the digits classification
# configs, so the classifiers they train serve as teacher and as FID feature extractor),
# width 16, 2 D steps x 16 images per G step, 500 G iterations.
#   python tools/train.py configs/digits/resnet18-w8_20e_digits.py   # FID features
#   python tools/train.py configs/gan/biggan-diffaug-ch16_0.5k_digits-16px-10pct.py
_base_ = ['../_base_/gan/biggan-diffaug_digits.py']
img_size = 16
max_iters = 500
model = dict(
    generator=dict(ch=16, num_blocks=2),  # 4 * 2**2 = 16
    discriminator=dict(ch=16, num_blocks=3, num_down=2),
    ema_decay=0.99,
    ema_start=100)
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
