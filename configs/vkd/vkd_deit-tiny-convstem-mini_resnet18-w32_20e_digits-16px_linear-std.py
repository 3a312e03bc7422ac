# VKD Table 6 row "linear, standardisation": the digits DeiT VKD config with a free
# linear projector (64 -> 256, widths inferred) instead of the orthogonal one.
_base_ = ['./vkd_deit-tiny-convstem-mini_resnet18-w32_20e_digits-16px.py']
model = dict(
    distiller=dict(
        connectors=dict(
            vkd_s=dict(connectors=[
                dict(type='TokenMeanPoolConnector', num_skip_tokens=2),
                dict(type='LinearConnector'),
            ]))))
