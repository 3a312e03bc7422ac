# Variant of biggan_cifar10_20pct.py: per-dimension standardised teacher targets instead of whitening.
_base_ = ['./biggan_cifar10_20pct.py']
model = dict(distill=dict(normalizer='standardize'))
