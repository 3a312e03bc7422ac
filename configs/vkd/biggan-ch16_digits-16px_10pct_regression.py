# Variant of biggan-ch16_digits-16px_10pct.py: KD-DLGAN-style two-sided regression
# baseline, the head regresses the 256-d teacher embedding directly (16 -> 1024 -> 256).
_base_ = ['./biggan-ch16_digits-16px_10pct.py']
model = dict(
    discriminator=dict(distill_dims=(1024, 256)),
    distill=dict(connector=None, normalizer='none', student_dim=256))
