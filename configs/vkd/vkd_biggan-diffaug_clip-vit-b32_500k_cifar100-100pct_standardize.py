# Variant of vkd_biggan-diffaug_clip-vit-b32_500k_cifar100-100pct.py:
# per-dimension standardized teacher targets instead of whitening.
_base_ = ['./vkd_biggan-diffaug_clip-vit-b32_500k_cifar100-100pct.py']
model = dict(distill=dict(normalizer='standardize'))
