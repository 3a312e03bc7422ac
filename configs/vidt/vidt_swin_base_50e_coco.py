# ViDT Swin-base (window 7, ImageNet-22k backbone in the paper), COCO, 50 epochs.
_base_ = './vidt_swin_nano_50e_coco.py'
arch = 'base'
backbone_widths = [256, 512, 1024, 256]
model = dict(backbone=dict(arch=arch), neck=dict(in_channels=backbone_widths))
