# The experiment of vkd_resnet18-w8_resnet18-w32_20e_digits.py written with
# VKDDistiller: one feature pair instead of the recorder / connector / mapping
# boilerplate (the logit KD term comes from the KD base). Channels are inferred by a
# dry forward of both models when the algorithm is built (its input shape is derived
# from the models; set `dry_run_shape` to choose it).
#   python tools/train.py \
#       configs/vkd/vkd_resnet18-w8_resnet18-w32_20e_digits_vkd-distiller.py
_base_ = ['../kd/kd_resnet18-w8_resnet18-w32_20e_digits.py']

model = dict(
    distiller=dict(
        type='VKDDistiller',
        feature_pairs=[
            dict(
                student='neck',
                teacher='neck',
                student_pool='gap',
                teacher_pool='gap',
                parametrization='cholesky_qr',
                normalizer='sample',
                loss=dict(type='VKDLoss', loss_type='smooth_l1', beta=1.0),
                loss_weight=1.0),
        ]))
