# ViDT Swin-tiny on the digits detection set: the teacher of `make demo`.
_base_ = ['./vidt_swin_nano_digits.py']
model = dict(backbone=dict(arch='tiny'), neck=dict(in_channels=[192, 384, 768, 256]))
