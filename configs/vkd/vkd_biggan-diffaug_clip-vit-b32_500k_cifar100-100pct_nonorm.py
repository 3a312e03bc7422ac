# Variant of vkd_biggan-diffaug_clip-vit-b32_500k_cifar100-100pct.py:
# unnormalized teacher targets.
_base_ = ['./vkd_biggan-diffaug_clip-vit-b32_500k_cifar100-100pct.py']
model = dict(distill=dict(normalizer='none'))
