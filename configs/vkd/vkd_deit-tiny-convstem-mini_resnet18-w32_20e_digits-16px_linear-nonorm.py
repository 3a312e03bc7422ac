# VKD Table 6 row "linear, no normalisation" (the study's reference for its primary
# comparison): a free linear projector and the raw teacher feature.
_base_ = ['./vkd_deit-tiny-convstem-mini_resnet18-w32_20e_digits-16px.py']
model = dict(
    distiller=dict(
        connectors=dict(
            vkd_s=dict(connectors=[
                dict(type='TokenMeanPoolConnector', num_skip_tokens=2),
                dict(type='LinearConnector'),
            ])),
        loss_forward_mappings=dict(
            loss_vkd=dict(
                preds_T=dict(
                    _delete_=True, from_student=False, recorder='feat', data_idx=0)))))
