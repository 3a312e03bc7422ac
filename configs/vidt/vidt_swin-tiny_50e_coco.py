# ViDT Swin-tiny, COCO, 50 epochs (drop-path 0.2); everything else as nano.
_base_ = './vidt_swin-nano_50e_coco.py'
model = dict(backbone=dict(arch='tiny'))
