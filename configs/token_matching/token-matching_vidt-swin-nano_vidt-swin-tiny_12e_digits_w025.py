# PILOT arm of the detection study (docs/studies.md, section "Detection", "The next
# setting"): ./token-matching_vidt-swin-nano_vidt-swin-tiny_12e_digits.py
# with the token-matching weight 0.25 instead of ViDT's 4.
_base_ = ['./token-matching_vidt-swin-nano_vidt-swin-tiny_12e_digits.py']
model = dict(distiller=dict(distill_losses=dict(loss_tm=dict(loss_weight=0.25))))
