# Logit KD (Hinton et al. 2015: KL divergence at temperature 4, weight 1, plus the
# student's own cross-entropy), dataset-agnostic, through StrictTeacherDistill:
# MMRazor's SingleTeacherDistill with a strict teacher loader (a file of another model is
# an error naming `model.teacher_ckpt`; a RepDistiller / mdistiller `{'model': ...}`
# file or an MMEngine checkpoint of the same classifier loads). The KD term reads the
# logits of both heads (`head.fc`) through the recorders named `logits`.
# A config using it inherits a model, a data set and a schedule next to it and sets
#   model = dict(data_preprocessor=_base_.data_preprocessor,
#                architecture=..., teacher=..., teacher_ckpt=...)
# The runtime of ../default_runtime.py (written out: no _base_, so that a CIFAR-100
# pair config stays within three _base_ levels) in the mmrazor scope.
custom_imports = dict(imports=['mmkd_ext'], allow_failed_imports=False)
default_scope = 'mmrazor'
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='mmpretrain.VisualizationHook', enable=False),
    # RNG states in checkpoints: --resume repeats the uninterrupted run exactly
    rng_state=dict(type='mmkd_ext.RNGStateHook'),
    # stop at the first non-finite loss, before a NaN checkpoint is written
    check_finite=dict(type='mmkd_ext.CheckFiniteLossHook'),
)
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='mmpretrain.UniversalVisualizer', vis_backends=vis_backends)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
test_cfg = dict()
model = dict(
    _scope_='mmrazor',
    type='StrictTeacherDistill',
    data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor'),
    teacher_ckpt=None,
    distiller=dict(
        type='StrictConfigurableDistiller',
        student_recorders=dict(logits=dict(type='ModuleOutputs', source='head.fc')),
        teacher_recorders=dict(logits=dict(type='ModuleOutputs', source='head.fc')),
        distill_losses=dict(loss_kl=dict(type='KLDivergence', tau=4, loss_weight=1.0)),
        loss_forward_mappings=dict(
            loss_kl=dict(
                preds_S=dict(from_student=True, recorder='logits'),
                preds_T=dict(from_student=False, recorder='logits')))),
)
find_unused_parameters = True
# evaluates the student and the teacher (a check that the teacher's weights loaded)
val_cfg = dict(type='mmrazor.SingleTeacherDistillValLoop')
