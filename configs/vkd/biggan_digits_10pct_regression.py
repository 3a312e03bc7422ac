# Variant of biggan_digits_10pct.py: KD-DLGAN-style two-sided regression baseline.
# The head regresses the 256-d teacher embedding directly (head 64 -> 1024 -> 256).
_base_ = ['./biggan_digits_10pct.py']
model = dict(
    discriminator=dict(distill_dims=(1024, 256)),
    distill=dict(connector=None, normalizer='none'))
