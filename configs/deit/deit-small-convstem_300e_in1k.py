# The VKD reference DeiT-S student as a plain MMPretrain classifier (see
# ./deit-tiny-convstem_300e_in1k.py; published VKD: 82.3 / 82.9 top-1):
#     python tools/model_converters/vkd_deit_to_mmkd.py deit_small/latest.pth.tar \
#         checkpoints/vkd_deit-small-convstem_in1k.pth
#     python tools/test.py configs/deit/deit-small-convstem_300e_in1k.py \
#         checkpoints/vkd_deit-small-convstem_in1k.pth
# (the set-up of ./deit-tiny-convstem_300e_in1k.py with the DeiT-S student)
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
    **_base_.deit_small_convstem)
