# ViDT's own token-matching KD, the KD baseline of VKD: ViDT Swin-nano student, ViDT
# Swin-base teacher (configs/_base_/distill/vidt_token-matching.py), COCO, 50 epochs.
#   python tools/train.py \
#       configs/token_matching/token-matching_vidt-swin-nano_vidt-swin-base_50e_coco.py \
#       --cfg-options model.teacher_ckpt=work_dirs/vidt_swin-base_50e_coco/epoch_50.pth
_base_ = [
    '../_base_/distill/vidt_token-matching.py',
    '../_base_/datasets/coco_detection_detr-aug.py',
    '../_base_/schedules/coco_adamw_50e_vidt.py',
]
