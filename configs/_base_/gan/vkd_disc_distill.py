# VKD discriminator distillation: D head 256 -> 1024 -> 512, one orthogonal connector
# shared by real and fake, whitened teacher targets, smooth-L1 VKD loss (x10).
vkd_distill = dict(
    type='DiscriminatorKD',
    student_dim=512,
    teacher_dim=512,
    connector=dict(type='OrthogonalConnector'),
    normalizer='whiten',  # 'standardize' | 'none' | a normalizer config
    loss=dict(type='VKDLoss', loss_type='smooth_l1', beta=1.0),
    loss_weight=10.0,
)
