# ViDT Swin-small, COCO, 50 epochs (depths 2-2-18-2, drop-path 0.3).
_base_ = './vidt_swin_nano_50e_coco.py'
arch = 'small'
backbone_widths = [192, 384, 768, 256]
model = dict(backbone=dict(arch=arch), neck=dict(in_channels=backbone_widths))
