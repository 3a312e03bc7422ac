# Variant of biggan_cifar100_100pct.py: unnormalised teacher targets.
_base_ = ['./biggan_cifar100_100pct.py']
model = dict(distill=dict(normalizer='none'))
