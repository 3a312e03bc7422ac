# Variant of vkd_biggan-diffaug_clip-vit-b32_125k_cifar10-10pct.py:
# unnormalized teacher targets.
_base_ = ['./vkd_biggan-diffaug_clip-vit-b32_125k_cifar10-10pct.py']
model = dict(distill=dict(normalizer='none'))
