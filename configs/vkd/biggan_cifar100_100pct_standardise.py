# Variant of biggan_cifar100_100pct.py: per-dimension standardised teacher targets instead of whitening.
_base_ = ['./biggan_cifar100_100pct.py']
model = dict(distill=dict(normalizer='standardize'))
