# The VKD reference DeiT-S student as a plain MMPretrain classifier (see
# ./deit-tiny-convstem_300e_in1k.py; published VKD: 82.3 / 82.9 top-1):
#     python tools/model_converters/vkd_deit_to_mmkd.py deit_small/latest.pth.tar \
#         checkpoints/vkd_deit-small-convstem_in1k.pth
#     python tools/test.py configs/deit/deit-small-convstem_300e_in1k.py \
#         checkpoints/vkd_deit-small-convstem_in1k.pth
_base_ = ['./deit-tiny-convstem_300e_in1k.py']
model = dict(backbone=dict(arch='deit-small'), head=dict(in_channels=384))
