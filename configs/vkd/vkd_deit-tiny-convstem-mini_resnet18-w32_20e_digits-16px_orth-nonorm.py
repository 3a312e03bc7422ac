# VKD Table 6 row "orthogonal, no normalisation": the digits DeiT VKD config with the
# teacher feature fed to the loss as it is (no standardisation).
_base_ = ['./vkd_deit-tiny-convstem-mini_resnet18-w32_20e_digits-16px.py']
model = dict(
    distiller=dict(
        loss_forward_mappings=dict(
            loss_vkd=dict(
                preds_T=dict(
                    _delete_=True, from_student=False, recorder='feat', data_idx=0)))))
