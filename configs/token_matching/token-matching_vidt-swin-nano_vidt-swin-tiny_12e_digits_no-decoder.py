# PILOT arm of the detection study (docs/studies.md, section "Detection", "The next
# setting"): ./token-matching_vidt-swin-nano_vidt-swin-tiny_12e_digits.py
# (weight 4) without the decoder term of token matching (TokenMatchingLoss
# decoder_term=False: patch levels and [DET] tokens only, no (L + 1) * d(H_s, H_t)).
_base_ = ['./token-matching_vidt-swin-nano_vidt-swin-tiny_12e_digits.py']
model = dict(distiller=dict(distill_losses=dict(loss_tm=dict(decoder_term=False))))
