# Variant of vkd_biggan-diffaug_clip-vit-b32_250k_cifar100-20pct.py:
# unnormalized teacher targets.
_base_ = ['./vkd_biggan-diffaug_clip-vit-b32_250k_cifar100-20pct.py']
model = dict(distill=dict(normalizer='none'))
