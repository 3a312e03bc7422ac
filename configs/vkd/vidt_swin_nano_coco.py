# The project's entry point for detection (README, docs/detection.md):
#   python tools/train.py configs/vkd/vidt_swin_nano_coco.py \
#       --cfg-options model.teacher_ckpt=work_dirs/vidt_swin-base_50e_coco/epoch_50.pth
# = VKD for a ViDT Swin-nano student from a ViDT Swin-base teacher on COCO, 50 epochs.
# It is vkd_vidt-swin-nano_vidt-swin-base_50e_coco.py under the short name (the same
# three bases, nothing added); configs inherit the bases, not either leaf.
_base_ = [
    '../_base_/distill/vidt_vkd.py',
    '../_base_/datasets/coco_detection_detr-aug.py',
    '../_base_/schedules/coco_adamw_50e_vidt.py',
]
