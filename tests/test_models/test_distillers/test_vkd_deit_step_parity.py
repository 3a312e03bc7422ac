"""One training step of the conv-stem DeiT-Ti VKD config equals the reference code
(issue 18, item 3).

The reference side is ``tests/data/loss_parity/deit_vkd_step.pt``, written by
``tools/analysis_tools/make_loss_parity_reference.py``: one iteration of roymiles/vkd
``engine.train_one_epoch`` (``--alpha 1 --gamma 1``, timm's Mixup with its lam
recorded, ``SoftTargetCrossEntropy``, ``KLDivLoss(batchmean)`` at T = 1, smooth L1
between the projected mean patch token and the layer-normed pooled teacher feature)
with ``models/deit.py``'s ``DistilledVisionTransformer`` shrunk to 24-d, 1 block, 10
classes (the conv stem and 224 px kept) and the timm ``regnety_002`` teacher (the
RegNetY code path of ``regnety_160``); every weight is the generator's
``formula_fill`` of its reference name, the projector a stored orthonormal matrix.

Ours: ``configs/vkd/vkd_deit-tiny-convstem_regnety160_300e_in1k.py`` with those sizes,
the same weights, the same mixed images and (unsmoothed) mixed targets, through
``algorithm.loss``: class-token CE, distillation-token KL and VKD term to 1e-5
relative.
"""
import os.path as osp

import pytest
import torch

from mmkd_ext.models.backbones.vkd_deit_weights import vkd_deit_key_to_ours

RTOL = 1e-5
REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
CFG = 'configs/vkd/vkd_deit-tiny-convstem_regnety160_300e_in1k.py'
REFERENCE = osp.join(REPO, 'tests', 'data', 'loss_parity', 'deit_vkd_step.pt')
TOOL = 'tools/analysis_tools/make_loss_parity_reference.py'


@pytest.fixture(scope='module')
def step(load_tool):
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmpretrain.structures import DataSample
    from mmrazor.registry import MODELS

    pytest.importorskip('timm')
    tool = load_tool(TOOL)
    ref = torch.load(REFERENCE, map_location='cpu', weights_only=True)
    cfg = Config.fromfile(osp.join(REPO, CFG))
    cfg.model.teacher_ckpt = None
    student = cfg.model.architecture
    student.backbone.arch = dict(
        embed_dims=24, num_layers=1, num_heads=3, feedforward_channels=96)
    student.backbone.img_size = 224
    student.head.update(num_classes=ref['num_classes'], in_channels=24)
    assert student.head.loss.label_smooth_val == ref['smoothing']
    cfg.model.teacher.update(
        model_name=ref['teacher_model'], num_classes=ref['num_classes'])
    with DefaultScope.overwrite_default_scope('mmrazor'):
        algo = MODELS.build(cfg.model)
    with torch.no_grad():
        algo.architecture.load_state_dict(
            {
                vkd_deit_key_to_ours(k): tool.formula_fill(k, s)
                for k, s in ref['student_keys']
            },
            strict=True)
        own = algo.teacher.model.state_dict()
        assert [(k, tuple(v.shape)) for k, v in own.items()] == ref['teacher_keys']
        algo.teacher.model.load_state_dict({
            k: tool.formula_fill(k, s)
            for k, s in ref['teacher_keys']
        })
        proj = algo.distiller.connectors['vkd_s'].connectors[1]
        assert type(proj).__name__ == 'OrthogonalConnector'
        proj.raw_weight.copy_(ref['projector'])
        torch.testing.assert_close(proj.weight, ref['projector'], atol=1e-6, rtol=0)
    algo.train()
    # the reference's mixup (timm, batch mode): x <- lam x + (1 - lam) x.flip(0),
    # targets smoothed there; ours gets the unsmoothed mixture (MMPretrain's Mixup
    # gives that) and smooths it in its LabelSmoothLoss
    x, labels = tool.deit_inputs()
    assert torch.equal(labels, ref['labels'])
    lam = ref['terms']['lam']
    x_flipped = x.flip(0).mul_(1. - lam)
    x.mul_(lam).add_(x_flipped)
    onehot = torch.nn.functional.one_hot(labels, ref['num_classes']).float()
    scores = lam * onehot + (1 - lam) * onehot.flip(0)
    samples = [
        DataSample().set_gt_label(y).set_gt_score(s) for y, s in zip(labels, scores)
    ]
    losses = algo.loss(x, samples)
    return {k: float(v) for k, v in losses.items()}, ref['terms']


@pytest.mark.parametrize('ours_key,ref_key', [('student.loss', 'xe'),
                                              ('distill.loss_kl', 'kl'),
                                              ('distill.loss_vkd', 'repr')])
def test_loss_term_equals_reference_engine(step, ours_key, ref_key):
    ours, ref = step
    rel = abs(ours[ours_key] - ref[ref_key]) / abs(ref[ref_key])
    assert rel <= RTOL, (f'{ours_key}: ours {ours[ours_key]:.7g}, reference '
                         f'{ref_key} {ref[ref_key]:.7g} (rel {rel:.1e})')


def test_total_equals_reference_engine(step):
    ours, ref = step
    assert sorted(ours) == ['distill.loss_kl', 'distill.loss_vkd', 'student.loss']
    assert sum(ours.values()) == pytest.approx(ref['total'], rel=RTOL, abs=0)
