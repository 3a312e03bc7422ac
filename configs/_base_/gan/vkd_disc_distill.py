# VKD discriminator distillation: D's distillation head maps its pooled feature
# -> 1024 -> 512 (`distill_dims`, set as model.discriminator.distill_dims by the configs
# using it), one orthogonal connector shared by real and fake, whitened teacher
# targets, smooth-L1 VKD loss (x10). student_dim (D's distill_dims[-1]) and teacher_dim
# (the teacher's embedding) are inferred from the models when the GAN is built (set
# them to have them checked).
distill_dims = (1024, 512)
vkd_distill = dict(
    type='DiscriminatorKD',
    connector=dict(type='OrthogonalConnector'),
    normalizer='whiten',  # 'standardize' | 'none' | a normalizer config
    loss=dict(type='VKDLoss', loss_type='smooth_l1', beta=1.0),
    loss_weight=10.0,
)
