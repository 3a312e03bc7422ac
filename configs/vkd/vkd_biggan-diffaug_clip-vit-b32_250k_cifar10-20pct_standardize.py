# Variant of vkd_biggan-diffaug_clip-vit-b32_250k_cifar10-20pct.py:
# per-dimension standardized teacher targets instead of whitening.
_base_ = ['./vkd_biggan-diffaug_clip-vit-b32_250k_cifar10-20pct.py']
model = dict(distill=dict(normalizer='standardize'))
