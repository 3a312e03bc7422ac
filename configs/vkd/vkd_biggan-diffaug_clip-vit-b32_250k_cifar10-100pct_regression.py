# Variant of vkd_biggan-diffaug_clip-vit-b32_250k_cifar10-100pct.py:
# KD-DLGAN-style two-sided regression baseline: the D head (512-d) regresses the
# teacher embedding (512-d) directly (no connector, no normalization, no text /
# diversity terms).
_base_ = ['./vkd_biggan-diffaug_clip-vit-b32_250k_cifar10-100pct.py']
model = dict(distill=dict(connector=None, normalizer='none'))
