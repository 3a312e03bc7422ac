# Variant of vkd_biggan-diffaug_resnet18-w32_3k_digits-10pct.py:
# unnormalized teacher targets.
_base_ = ['./vkd_biggan-diffaug_resnet18-w32_3k_digits-10pct.py']
model = dict(distill=dict(normalizer='none'))
