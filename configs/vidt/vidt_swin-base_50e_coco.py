# ViDT Swin-base (window 7, ImageNet-22k backbone in the paper), COCO, 50 epochs.
_base_ = './vidt_swin-nano_50e_coco.py'
model = dict(backbone=dict(arch='base'))
