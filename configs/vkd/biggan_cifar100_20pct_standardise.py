# Variant of biggan_cifar100_20pct.py: per-dimension standardised teacher targets instead of whitening.
_base_ = ['./biggan_cifar100_20pct.py']
model = dict(distill=dict(normalizer='standardize'))
