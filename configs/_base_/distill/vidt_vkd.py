# VKD for ViDT (Miles et al., CVPR 2024; docs/vkd.md, docs/detection.md) on the set-up
# of ./vidt_swin-base_teacher.py: six feature pairs, each an orthogonal projector with
# a learnable per-channel scale and bias on the student side, per-dimension batch
# standardisation of both sides and a smooth-L1 term of weight 4 (`loss_vkd_<name>`):
# the 4 patch levels after the input projection (neck outputs 0..3), the projected
# backbone [DET] tokens (tgt_proj) and the 7 decoder states [decoder input; 6 layer
# outputs] = the head's input `hidden_states` (the reference's `hs`, roymiles/vkd
# vidt/methods/vidt/detector.py), flattened to tokens: one projector shared over all
# states and tokens, one standardisation over all of them. The projector widths are
# inferred by one dry forward of both models at build time (`dry_run_shape`), so a
# student of any width fits.
_base_ = ['./vidt_swin-base_teacher.py']
model = dict(
    distiller=dict(
        type='VKDDistiller',
        dry_run_shape=(2, 3, 64, 64),  # the widths: one dry forward at build time
        pair_defaults=dict(
            # per-dimension z-score over all tokens, both sides; the reference
            # divides by the std with no eps: 1e-12 only keeps a constant channel
            # finite (1e-5 moved the VKD term by 3e-4 relative, docs/detection.md)
            normalizer=dict(type='FeatureStandardizer', mode='batch', eps=1e-12),
            normalize_student=True,
            learnable_scale_bias=True,
            loss_weight=4.0),
        feature_pairs=[
            dict(
                name='vkd_p0',
                student='neck',
                teacher='neck',
                student_data_idx=0,
                teacher_data_idx=0),
            dict(
                name='vkd_p1',
                student='neck',
                teacher='neck',
                student_data_idx=1,
                teacher_data_idx=1),
            dict(
                name='vkd_p2',
                student='neck',
                teacher='neck',
                student_data_idx=2,
                teacher_data_idx=2),
            dict(
                name='vkd_p3',
                student='neck',
                teacher='neck',
                student_data_idx=3,
                teacher_data_idx=3),
            dict(name='vkd_det', student='tgt_proj', teacher='tgt_proj'),
            dict(
                name='vkd_dec',
                student=dict(type='ModuleInputs', source='bbox_head'),
                teacher=dict(type='ModuleInputs', source='bbox_head'),
                student_data_idx=0,  # hidden_states (7, N, Q, 256)
                teacher_data_idx=0,
                student_pool=dict(type='FlattenTokensConnector', channel_dim=-1),
                teacher_pool=dict(type='FlattenTokensConnector', channel_dim=-1)),
        ]))
