# VKD ViDT Swin-nano student with a ViDT Swin-small teacher (the small-teacher variant).
_base_ = './vkd_vidt-swin-nano_vidt-swin-base_50e_coco.py'
model = dict(
    teacher_ckpt='work_dirs/vidt_swin-small_50e_coco/epoch_50.pth',
    teacher=dict(backbone=dict(arch='small')))
