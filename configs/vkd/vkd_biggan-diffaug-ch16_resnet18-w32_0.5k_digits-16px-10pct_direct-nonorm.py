# Variant of vkd_biggan-diffaug-ch16_resnet18-w32_0.5k_digits-16px-10pct.py:
# no distillation head (the orthogonal connector maps D's pooled feature straight to
# the teacher width, as in the _direct variant) and unnormalised teacher targets.
_base_ = ['./vkd_biggan-diffaug-ch16_resnet18-w32_0.5k_digits-16px-10pct.py']
model = dict(discriminator=dict(distill_dims=()), distill=dict(normalizer='none'))
