# Variant of vkd_biggan-diffaug-ch16_resnet18-w32_0.5k_digits-16px-10pct.py:
# unnormalized teacher targets.
_base_ = ['./vkd_biggan-diffaug-ch16_resnet18-w32_0.5k_digits-16px-10pct.py']
model = dict(distill=dict(normalizer='none'))
