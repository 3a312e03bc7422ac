# VKD ViDT Swin-nano student with a ViDT Swin-small teacher (the small-teacher variant).
_base_ = ['./vidt_swin_nano_coco.py']
teacher_ckpt = 'work_dirs/vidt_swin_small_50e_coco/epoch_50.pth'
model = dict(
    teacher_ckpt=teacher_ckpt,
    teacher=dict(backbone=dict(arch='small'),
                 neck=dict(in_channels=[192, 384, 768, 256])))
