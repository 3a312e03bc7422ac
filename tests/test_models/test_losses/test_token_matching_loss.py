"""ViDT token-matching loss (reference ``SetCriterion`` distillation term) against a
hand computation."""
import math

import pytest
import torch
from mmrazor.registry import MODELS

import mmkd_ext  # noqa: F401


def test_token_matching_equals_hand_computation():
    # patch level 0: 1 image, 2 channels, 1x2 map: token distances 1 and 2 -> mean 1.5
    # patch level 1: 1x1 map, token (3, 4): distance 5
    ps = [torch.tensor([[[[1., 2.]], [[0., 0.]]]]), torch.tensor([[[[3.]], [[4.]]]])]
    pt = [torch.zeros(1, 2, 1, 2), torch.zeros(1, 2, 1, 1)]
    # backbone [DET] (1 image, 1 token): (1, 1) -> sqrt(2)
    det_s, det_t = torch.tensor([[[1., 1.]]]), torch.tensor([[[0., 0.]]])
    # 3 decoder layers, token of layer l = (l+1, l+1): distances sqrt(2) * (1, 2, 3)
    dec_s = torch.arange(1., 4.).view(3, 1, 1, 1).expand(3, 1, 1, 2).contiguous()
    dec_t = torch.zeros(3, 1, 1, 2)
    loss = MODELS.build(dict(type='TokenMatchingLoss', loss_weight=4.0))
    value = loss(ps, pt, det_s, det_t, dec_s, dec_t)
    # reference hs = [det; dec] (4 layers): mean distance sqrt(2) * (1+1+2+3) / 4,
    # times 4 layers -> 7 sqrt(2); total = 1.5 + 5 + sqrt(2) + 7 sqrt(2)
    expected = 4.0 * math.sqrt(1.5 + 5 + math.sqrt(2) + 7 * math.sqrt(2))
    assert torch.isclose(value, torch.tensor(expected))


def test_token_matching_is_not_squared_distance():
    """Scaling every difference by 4 scales the loss by sqrt(4) = 2 (L2 norms under
    one square root), not by 4 (squared distances)."""
    torch.manual_seed(0)
    s = [torch.randn(2, 8, 3, 3)]
    t = [torch.randn(2, 8, 3, 3)]
    ds, dt = torch.randn(2, 5, 8), torch.randn(2, 5, 8)
    hs, ht = torch.randn(6, 2, 5, 8), torch.randn(6, 2, 5, 8)
    loss = MODELS.build(dict(type='TokenMatchingLoss', loss_weight=1.0))
    base = loss(s, t, ds, dt, hs, ht)
    scaled = loss([t[0] + 4 * (s[0] - t[0])], t, dt + 4 * (ds - dt), dt,
                  ht + 4 * (hs - ht), ht)
    assert torch.isclose(scaled, 2 * base, rtol=1e-5)


def test_token_matching_gradient_only_to_student():
    s = [torch.randn(2, 4, 3, 3, requires_grad=True)]
    t = [torch.randn(2, 4, 3, 3, requires_grad=True)]
    ds, dt = torch.randn(2, 5, 4, requires_grad=True), torch.randn(2, 5, 4)
    hs, ht = torch.randn(6, 2, 5, 4, requires_grad=True), torch.randn(6, 2, 5, 4)
    loss = MODELS.build(dict(type='TokenMatchingLoss'))
    loss(s, t, ds, dt, hs, ht).backward()
    assert s[0].grad is not None and t[0].grad is None
    assert torch.isfinite(hs.grad).all()


def test_token_matching_gradient_finite_where_tokens_match():
    """Identical tokens (e.g. padding, or a student initialised from its teacher)
    give a finite gradient, not NaN."""
    s = [torch.zeros(1, 4, 2, 2, requires_grad=True)]
    ds = torch.zeros(1, 3, 4, requires_grad=True)
    hs = torch.zeros(2, 1, 3, 4, requires_grad=True)
    loss = MODELS.build(dict(type='TokenMatchingLoss'))
    loss(s, [torch.zeros(1, 4, 2, 2)], ds, torch.zeros(1, 3, 4), hs,
         torch.zeros(2, 1, 3, 4)).backward()
    assert all(torch.isfinite(g).all() for g in (s[0].grad, ds.grad, hs.grad))


def test_token_matching_shape_mismatch_is_clear():
    loss = MODELS.build(dict(type='TokenMatchingLoss'))
    with pytest.raises(ValueError, match='differ in shape'):
        loss([torch.zeros(1, 4, 2, 2)], [torch.zeros(1, 4, 2, 3)], torch.zeros(1, 2, 4),
             torch.zeros(1, 2, 4), torch.zeros(1, 1, 2, 4), torch.zeros(1, 1, 2, 4))
    with pytest.raises(ValueError, match=r'decoder states .* \(L, N, Q, C\)'):
        loss([torch.zeros(1, 4, 2, 2)], [torch.zeros(1, 4, 2, 2)], torch.zeros(1, 2, 4),
             torch.zeros(1, 2, 4), torch.zeros(1, 1, 3, 4), torch.zeros(1, 1, 3, 4))


def test_token_matching_config_gives_the_reference_loss(det_batch):
    """On a real forward of configs/token_matching (small nano teacher), the recorded
    tokens are the reference's: ``srcs`` (neck outputs), ``det_tgt`` (tgt_proj) and
    ``hs`` = [det_tgt; decoder states], and the loss is its formula."""
    import os.path as osp

    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmrazor.registry import MODELS as RAZOR_MODELS

    repo = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
    cfg = Config.fromfile(
        osp.join(
            repo, 'configs/token_matching/'
            'token-matching_vidt-swin-nano_vidt-swin-base_50e_coco.py'))
    cfg.model.teacher_ckpt = None
    cfg.model.teacher.backbone.arch = 'nano'
    for part in (cfg.model.architecture, cfg.model.teacher):
        part.num_queries = part.test_cfg.max_per_img = 10
        part.decoder.num_layers = 2
        part.bbox_head.num_classes = 10
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmrazor'):
        model = RAZOR_MODELS.build(cfg.model)
    model.init_weights()
    inputs, samples = det_batch([(64, 64), (48, 56)])
    losses = model.loss(inputs, samples)

    def rec(recorders, name):
        return recorders.get_recorder(name).get_record_data()

    s_rec, t_rec = model.distiller.student_recorders, model.distiller.teacher_recorders
    patch_s, patch_t = rec(s_rec, 'neck'), rec(t_rec, 'neck')
    det_s, det_t = rec(s_rec, 'det'), rec(t_rec, 'det')
    dec_s, dec_t = rec(s_rec, 'dec')[0], rec(t_rec, 'dec')[0]
    assert len(patch_s) == 4 and patch_s[0].shape[1] == 256
    assert det_s.shape == (2, 10, 256) and dec_s.shape == (2, 2, 10, 256)

    def dist(a, b):  # reference: mean(sqrt(sum((a - b)**2, -1))) over all tokens
        return ((a - b)**2).sum(-1).sqrt().mean()

    total = sum(
        dist(p.permute(0, 2, 3, 1), q.permute(0, 2, 3, 1))
        for p, q in zip(patch_s, patch_t))
    total = total + dist(det_s, det_t)
    hs_s, hs_t = torch.cat([det_s[None], dec_s]), torch.cat([det_t[None], dec_t])
    total = total + dist(hs_s, hs_t) * hs_s.shape[0]
    expected = 4.0 * total.sqrt()
    assert torch.isclose(losses['distill.loss_tm'], expected, rtol=1e-5)


def test_token_matching_without_decoder_term_equals_hand_computation():
    """``decoder_term=False`` drops (L + 1) * d(H_s, H_t): the inputs of the hand
    computation above give sqrt(1.5 + 5 + sqrt(2)); the decoder states get no
    gradient, the [DET] tokens enter once."""
    ps = [torch.tensor([[[[1., 2.]], [[0., 0.]]]]), torch.tensor([[[[3.]], [[4.]]]])]
    pt = [torch.zeros(1, 2, 1, 2), torch.zeros(1, 2, 1, 1)]
    det_s = torch.tensor([[[1., 1.]]], requires_grad=True)
    dec_s = torch.arange(1., 4.).view(3, 1, 1, 1).expand(3, 1, 1, 2).contiguous()
    dec_s.requires_grad_(True)
    loss = MODELS.build(
        dict(type='TokenMatchingLoss', loss_weight=4.0, decoder_term=False))
    value = loss(ps, pt, det_s, torch.zeros(1, 1, 2), dec_s, torch.zeros(3, 1, 1, 2))
    total = 1.5 + 5 + math.sqrt(2)
    assert torch.isclose(value, torch.tensor(4.0 * math.sqrt(total)))
    value.backward()
    assert dec_s.grad is None
    # d/d det_s of 4 sqrt(total): 4 / (2 sqrt(total)) * (1, 1) / sqrt(2)
    expected = 2 / math.sqrt(total) / math.sqrt(2)
    assert torch.allclose(det_s.grad, torch.full((1, 1, 2), expected))


def test_token_matching_decoder_term_must_be_bool():
    with pytest.raises(TypeError, match='decoder_term'):
        MODELS.build(dict(type='TokenMatchingLoss', decoder_term='no'))
