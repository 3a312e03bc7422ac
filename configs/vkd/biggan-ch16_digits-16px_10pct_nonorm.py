# Variant of biggan-ch16_digits-16px_10pct.py: unnormalised teacher targets.
_base_ = ['./biggan-ch16_digits-16px_10pct.py']
model = dict(distill=dict(normalizer='none'))
