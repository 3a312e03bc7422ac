# DiffAugment-BigGAN baseline, CIFAR100 100% of the training images
# (seeded random subset), 500k G iterations (gan.md).
#   python tools/train.py configs/gan/biggan-diffaug_500k_cifar100-100pct.py
_base_ = [
    '../_base_/gan/gan_runtime.py',
    '../_base_/gan/biggan-diffaug_cifar100.py',
]
train_dataloader = dict(dataset=dict(subset_ratio=None, subset_seed=0))
train_cfg = dict(max_iters=500000)
