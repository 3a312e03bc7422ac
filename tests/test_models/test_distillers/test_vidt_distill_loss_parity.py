"""Training-loss parity of the ViDT distillation configs with the reference code
(issue 18, item 3): token matching and VKD.

The reference side is ``tests/data/loss_parity/vidt_nano_losses.pt`` (see
``tools/analysis_tools/make_loss_parity_reference.py``): a ViDT-nano student on the
fixture weights (train mode, dropout 0) and a ViDT-nano teacher with those weights
perturbed (eval mode), on the fixture's padded pair; ``tm``: naver-ai/vidt main's
token-matching ``loss_distil`` x 4; ``vkd``: roymiles/vkd ``vidt/``'s VKD
``loss_distil`` x 4 (six ``OrthogonalLinear`` projectors set to known orthogonal
matrices, scales and biases). Ours: the shipped configs with a nano teacher, the same
weights and projectors, through ``algorithm.loss``; 1e-5 relative.
"""
import os.path as osp

import torch

RTOL = 1e-5
REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
TM_CFG = ('configs/token_matching/'
          'token-matching_vidt-swin-nano_vidt-swin-base_50e_coco.py')
VKD_CFG = 'configs/vkd/vkd_vidt-swin-nano_vidt-swin-base_50e_coco.py'
# reference projector -> (our connector, index in its SequentialConnector chain)
PROJECTORS = dict(
    patch_projector_1=('vkd_p0_s_conn', 0),
    patch_projector_2=('vkd_p1_s_conn', 0),
    patch_projector_3=('vkd_p2_s_conn', 0),
    patch_projector_4=('vkd_p3_s_conn', 0),
    body_det_projector=('vkd_det_s_conn', 0),
    neck_det_projector=('vkd_dec_s_conn', 1))  # after FlattenTokensConnector


def algorithm(cfg_path, p):
    """The shipped config with a nano teacher; student / teacher weights loaded."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmrazor.registry import MODELS

    from mmkd_ext.models.detectors.vidt_weights import load_vidt_checkpoint
    cfg = Config.fromfile(osp.join(REPO, cfg_path))
    cfg.model.teacher_ckpt = None
    cfg.model.teacher.backbone.arch = 'nano'
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmrazor'):
        algo = MODELS.build(cfg.model)
    load_vidt_checkpoint(algo.architecture, p.weight_files['student'], 'student')
    load_vidt_checkpoint(algo.teacher, p.weight_files['teacher'], 'teacher')
    p.no_dropout(algo).train()  # SingleTeacherDistill.train returns None
    return algo


def distill_terms(losses):
    return {k: float(v) for k, v in losses.items() if k.startswith('distill.')}


def check(ours, ref, what):
    rel = abs(ours - ref) / abs(ref)
    assert rel <= RTOL, f'{what}: ours {ours:.7g} reference {ref:.7g} rel {rel:.1e}'


def test_token_matching_config_equals_reference(vidt_loss_parity):
    """``loss_tm`` (recorders on neck, tgt_proj, decoder; ``TokenMatchingLoss`` x 4)
    equals naver-ai/vidt main's token-matching term."""
    p = vidt_loss_parity
    terms = distill_terms(algorithm(TM_CFG, p).loss(*p.batch))
    assert list(terms) == ['distill.loss_tm']
    check(terms['distill.loss_tm'], p.reference['tm'], 'token matching')


def test_vkd_config_equals_reference(vidt_loss_parity):
    """The six VKD terms summed (4 patch levels, backbone [DET] tokens, and the 7
    decoder states [decoder input; 6 layer outputs] through one shared projector and
    one standardisation) equal roymiles/vkd's VKD term; the student's detection terms
    equal the reference criterion's."""
    p = vidt_loss_parity
    algo = algorithm(VKD_CFG, p)
    with torch.no_grad():
        for name, (conn, idx) in PROJECTORS.items():
            proj = algo.distiller.connectors[conn].connectors[idx]
            ref = p.reference['projectors'][name]
            q = p.tool.householder_pair(ref['v1'], ref['v2'])
            assert ref['weight_err'] < 1e-5  # the reference used q
            proj.raw_weight.copy_(q)
            proj.scale.copy_(ref['scale'])
            proj.bias.copy_(ref['bias'])
            torch.testing.assert_close(proj.weight, q, atol=1e-6, rtol=0)
    losses = algo.loss(*p.batch)
    # the decoder pair sees [decoder input; 6 layer outputs], input = tgt_proj's
    states = algo.distiller.get_record('vkd_dec_s', True, data_idx=0)
    assert states.shape == (7, 2, 100, 256)
    assert torch.equal(states[0], algo.distiller.get_record('vkd_det_s', True))
    terms = distill_terms(losses)
    assert sorted(terms) == sorted(f'distill.loss_vkd_{n}'
                                   for n in ('p0', 'p1', 'p2', 'p3', 'det', 'dec'))
    check(sum(terms.values()), p.reference['vkd'], 'VKD-ViDT (sum of the 6 terms)')
    student = sum(float(v) for k, v in losses.items() if k.startswith('student.'))
    check(student, sum(p.reference['vkd_det'].values()), 'VKD student detection')
