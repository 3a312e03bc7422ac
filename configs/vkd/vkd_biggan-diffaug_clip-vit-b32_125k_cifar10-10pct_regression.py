# Variant of vkd_biggan-diffaug_clip-vit-b32_125k_cifar10-10pct.py: KD-DLGAN-style two-sided regression baseline (no connector, no normalisation,
# no text / diversity terms).
_base_ = ['./vkd_biggan-diffaug_clip-vit-b32_125k_cifar10-10pct.py']
model = dict(distill=dict(connector=None, normalizer='none'))
