# SGD + cosine, per-iteration, for the small digits runs.
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4))
param_scheduler = dict(
    type='CosineAnnealingLR', by_epoch=True, T_max=20, convert_to_iter_based=True)
train_cfg = dict(by_epoch=True, max_epochs=20, val_interval=1)
