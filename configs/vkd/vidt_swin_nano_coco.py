# The project's entry point for detection (README, docs/detection.md):
#   python tools/train.py configs/vkd/vidt_swin_nano_coco.py \
#       --cfg-options model.teacher_ckpt=work_dirs/vidt_swin-base_50e_coco/epoch_50.pth
# = VKD for a ViDT Swin-nano student from a ViDT Swin-base teacher on COCO, 50 epochs.
# It only names the OpenMMLab-style config and adds nothing; configs inherit either.
_base_ = ['./vkd_vidt-swin-nano_vidt-swin-base_50e_coco.py']
