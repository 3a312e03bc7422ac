# VKD on ImageNet-1k: DeiT-S student <- RegNetY-160 teacher; everything as in the DeiT-Ti
# config (the VKD reference run, `--student-model deit_s_distilled`) except the
# student's width (384): conv-stem DeiT-S with the mean-pooled distillation token,
# 23.8 M parameters. Published top-1: 82.3 with VKD (81.2 DeiT distilled, 79.8 without
# teacher).
#   python tools/train.py \
#       configs/vkd/vkd_deit-small-convstem_regnety160_300e_in1k.py --amp \
#       --cfg-options model.teacher_ckpt=checkpoints/regnety_160-a5fe301d.pth
_base_ = ['./vkd_deit-tiny-convstem_regnety160_300e_in1k.py']
# the projector's input width (384) is inferred from the student, as in the DeiT-Ti base
model = dict(architecture=dict(_base_.deit_small_convstem, _delete_=True))
