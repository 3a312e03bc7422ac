# Variant of biggan_digits_10pct.py: per-dimension standardised teacher targets.
_base_ = ['./biggan_digits_10pct.py']
model = dict(distill=dict(normalizer='standardize'))
