# DiffAugment-BigGAN baseline, CIFAR100 10% of the training images
# (seeded random subset), 125k G iterations (gan.md).
#   python tools/train.py configs/gan/biggan-diffaug_125k_cifar100-10pct.py
_base_ = [
    '../_base_/gan/gan_runtime.py',
    '../_base_/gan/biggan-diffaug_cifar100.py',
]
train_dataloader = dict(dataset=dict(subset_ratio=0.1, subset_seed=0))
train_cfg = dict(max_iters=125000)
