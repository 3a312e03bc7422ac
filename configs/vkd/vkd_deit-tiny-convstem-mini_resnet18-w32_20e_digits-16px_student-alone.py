# The digits DeiT student trained alone (no teacher): the same network, data, recipe
# and seed-paired initialisation as the distilled arms; class-token CE only (its
# distillation-token head gets no loss and no teacher, and the test prediction is the
# mean of both heads, as for every DeiT student here).
_base_ = ['./vkd_deit-tiny-convstem-mini_resnet18-w32_20e_digits-16px.py']
default_scope = 'mmpretrain'
model = dict(
    _delete_=True,
    data_preprocessor=dict(
        _base_.model.data_preprocessor, type='mmpretrain.ClsDataPreprocessor'),
    **_base_.model.architecture)
val_cfg = dict(_delete_=True)
