# Variant of biggan_cifar10_100pct.py: KD-DLGAN-style two-sided regression baseline (no connector, no normalisation,
# no text / diversity terms).
_base_ = ['./biggan_cifar10_100pct.py']
model = dict(distill=dict(connector=None, normalizer='none'))
