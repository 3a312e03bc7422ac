# DiffAugment-BigGAN (small) on 10% of the digits training images (144 images).
#   python tools/train.py configs/gan/biggan-diffaug_3k_digits-10pct.py
_base_ = ['../_base_/gan/biggan-diffaug_digits.py']
train_dataloader = dict(dataset=dict(subset_ratio=0.1, subset_seed=0))
