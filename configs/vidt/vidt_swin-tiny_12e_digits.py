# ViDT Swin-tiny on the digits detection set: the teacher of `make demo`.
_base_ = './vidt_swin-nano_12e_digits.py'
model = dict(backbone=dict(arch='tiny'))
