# Variant of vkd_biggan-diffaug-ch16_resnet18-w32_0.5k_digits-16px-10pct.py:
# no distillation head. The orthogonal connector maps D's pooled feature straight to
# the teacher width (16 -> 256 here, both inferred), so the projection constrains D's
# own features (P^T P = I keeps their intra-batch geometry); the head variant's free
# linear head (16 -> 1024 -> 512) in front of the connector can absorb any rotation
# (docs/gan.md).
_base_ = ['./vkd_biggan-diffaug-ch16_resnet18-w32_0.5k_digits-16px-10pct.py']
model = dict(discriminator=dict(distill_dims=()))
