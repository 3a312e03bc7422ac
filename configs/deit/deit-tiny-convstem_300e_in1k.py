# The VKD reference DeiT-Ti student (conv stem, mean-pooled distillation token; see
# configs/_base_/models/deit-distilled_in1k.py) as a plain MMPretrain classifier:
# * evaluates a converted published VKD student (docs/checkpoints.md); at test time the
#   classifier returns the mean of its class-token and distillation-token heads, as the
#   reference does (published: 78.3 / 79.2 top-1):
#     python tools/model_converters/vkd_deit_to_mmkd.py deit_tiny/latest.pth.tar \
#         checkpoints/vkd_deit-tiny-convstem_in1k.pth
#     python tools/test.py configs/deit/deit-tiny-convstem_300e_in1k.py \
#         checkpoints/vkd_deit-tiny-convstem_in1k.pth
# * trains the student alone with the recipe of
#   configs/vkd/vkd_deit-tiny-convstem_regnety160_300e_in1k.py (no teacher, no VKD).
_base_ = [
    '../_base_/models/deit-distilled_in1k.py',
    '../_base_/datasets/imagenet_bs512_deit-3aug.py',
    '../_base_/schedules/imagenet_adamw_300e_deit.py',
    '../_base_/default_runtime.py',
]
model = dict(
    data_preprocessor=dict(
        **_base_.data_preprocessor,
        batch_augments=dict(augments=[
            dict(type='Mixup', alpha=0.8),
            dict(type='CutMix', alpha=1.0),
        ])),
    **_base_.deit_tiny_convstem)
