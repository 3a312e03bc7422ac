# Variant of biggan_cifar100_20pct.py: KD-DLGAN-style two-sided regression baseline (no connector, no normalisation,
# no text / diversity terms).
_base_ = ['./biggan_cifar100_20pct.py']
model = dict(distill=dict(connector=None, normalizer='none'))
