# Variant of vkd_biggan-diffaug-ch16_resnet18-w32_0.5k_digits-16px-10pct.py:
# KD-DLGAN-style two-sided regression baseline: the D head regresses the 256-d
# teacher embedding directly (head -> 1024 -> 256; no connector, no normalization).
_base_ = ['./vkd_biggan-diffaug-ch16_resnet18-w32_0.5k_digits-16px-10pct.py']
model = dict(
    discriminator=dict(distill_dims=(1024, 256)),
    distill=dict(connector=None, normalizer='none'))
