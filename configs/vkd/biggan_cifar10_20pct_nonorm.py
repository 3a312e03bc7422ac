# Variant of biggan_cifar10_20pct.py: unnormalised teacher targets.
_base_ = ['./biggan_cifar10_20pct.py']
model = dict(distill=dict(normalizer='none'))
