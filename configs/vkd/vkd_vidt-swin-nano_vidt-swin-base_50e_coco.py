# VKD for detection: ViDT Swin-nano student distilled from a ViDT Swin-base teacher
# (six orthogonal projectors, batch standardisation, smooth L1 x 4; see
# configs/_base_/distill/vidt_vkd.py), COCO, 50 epochs of the ViDT recipe.
#   python tools/train.py configs/vkd/vkd_vidt-swin-nano_vidt-swin-base_50e_coco.py \
#       --cfg-options model.teacher_ckpt=work_dirs/vidt_swin-base_50e_coco/epoch_50.pth
_base_ = [
    '../_base_/distill/vidt_vkd.py',
    '../_base_/datasets/coco_detection_detr-aug.py',
    '../_base_/schedules/coco_adamw_50e_vidt.py',
]
