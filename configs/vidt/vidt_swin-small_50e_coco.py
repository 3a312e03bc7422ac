# ViDT Swin-small, COCO, 50 epochs (depths 2-2-18-2, drop-path 0.3).
_base_ = './vidt_swin-nano_50e_coco.py'
model = dict(backbone=dict(arch='small'))
