# Variant of vkd_biggan-diffaug_clip-vit-b32_250k_cifar100-20pct.py:
# no distillation head. The orthogonal connector maps D's pooled feature straight to
# the CLIP width (256 -> 512, both inferred), so the projection constrains D's own
# features; the head variant's free linear head (256 -> 1024 -> 512) in front of the
# connector can absorb any rotation (docs/gan.md).
_base_ = ['./vkd_biggan-diffaug_clip-vit-b32_250k_cifar100-20pct.py']
model = dict(discriminator=dict(distill_dims=()))
