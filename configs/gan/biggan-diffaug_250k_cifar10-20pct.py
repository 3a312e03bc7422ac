# DiffAugment-BigGAN baseline, CIFAR10 20% of the training images
# (seeded random subset), 250k G iterations (gan.md).
#   python tools/train.py configs/gan/biggan-diffaug_250k_cifar10-20pct.py
_base_ = [
    '../_base_/gan/gan_runtime.py',
    '../_base_/gan/biggan-diffaug_cifar10.py',
]
train_dataloader = dict(dataset=dict(subset_ratio=0.2, subset_seed=0))
train_cfg = dict(max_iters=250000)
