# Variant of biggan_digits_10pct.py: unnormalised teacher targets.
_base_ = ['./biggan_digits_10pct.py']
model = dict(distill=dict(normalizer='none'))
