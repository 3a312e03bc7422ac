# The CRD-benchmark schedule: SGD (momentum 0.9, weight decay 5e-4), lr 0.05 (0.01 for
# MobileNetV2 / ShuffleNet students, set in those configs), x0.1 at epochs 150, 180
# and 210, 240 epochs, batch 64 on one GPU.
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4))
param_scheduler = dict(
    type='MultiStepLR', by_epoch=True, milestones=[150, 180, 210], gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=240, val_interval=5)
auto_scale_lr = dict(base_batch_size=64)
