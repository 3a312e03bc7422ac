# ViDT Swin-tiny, COCO, 50 epochs (drop-path 0.2); everything else as nano.
_base_ = './vidt_swin_nano_50e_coco.py'
arch = 'tiny'
backbone_widths = [192, 384, 768, 256]
model = dict(backbone=dict(arch=arch), neck=dict(in_channels=backbone_widths))
