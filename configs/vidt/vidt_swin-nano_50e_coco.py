# ViDT Swin-nano, COCO, 50 epochs: the published recipe (Song et al., ICLR 2022;
# docs/detection.md).
# 2 images per GPU on 8 GPUs (16 total); AdamW lr 1e-4, weight decay 1e-4 (none on
# 1-d params, biases, [DET] tokens / position embeddings), clip 0.1, cosine to 1e-7.
# Random init; to start from ImageNet Swin weights (converted on load), a config
# with `_base_ = './vidt_swin-nano_50e_coco.py'` and
#   model = dict(backbone=dict(init_cfg=dict(
#       type='Pretrained', checkpoint='swin_nano_patch4_window7_224.pth')))
#   python tools/train.py configs/vidt/vidt_swin-nano_50e_coco.py
# MMDet's own tools/train.py works too (custom_imports in the schedule base).
_base_ = [
    '../_base_/models/vidt_swin-nano.py',
    '../_base_/datasets/coco_detection_detr-aug.py',
    '../_base_/schedules/coco_adamw_50e_vidt.py',
]
