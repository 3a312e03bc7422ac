"""ViDT token-matching loss against a hand computation."""
import math

import torch

import mmkd_ext  # noqa: F401
from mmrazor.registry import MODELS


def test_token_matching_equals_hand_computation():
    # patch level 0: 1 image, 2 channels, 1x2 map; level 1: 1x1 map
    ps = [torch.tensor([[[[1., 2.]], [[0., 0.]]]]), torch.tensor([[[[3.]], [[4.]]]])]
    pt = [torch.zeros(1, 2, 1, 2), torch.zeros(1, 2, 1, 1)]
    # tokens: distances^2 = 1+0 -> 1 and 4+0 -> 4 -> mean 2.5; level 1: 9+16=25
    det_s, det_t = torch.tensor([[[1., 1.]]]), torch.tensor([[[0., 0.]]])  # 2
    dec_s = torch.ones(3, 1, 2, 2)  # L=3 states, each token dist^2 = 2
    dec_t = torch.zeros(3, 1, 2, 2)
    loss = MODELS.build(dict(type='TokenMatchingLoss', loss_weight=4.0))
    value = loss(ps, pt, det_s, det_t, dec_s, dec_t)
    expected = 4.0 * math.sqrt(2.5 + 25 + 2 + 3 * 2)
    assert torch.isclose(value, torch.tensor(expected))


def test_token_matching_gradient_only_to_student():
    s = [torch.randn(2, 4, 3, 3, requires_grad=True)]
    t = [torch.randn(2, 4, 3, 3, requires_grad=True)]
    ds, dt = torch.randn(2, 5, 4, requires_grad=True), torch.randn(2, 5, 4)
    hs, ht = torch.randn(6, 2, 5, 4, requires_grad=True), torch.randn(6, 2, 5, 4)
    loss = MODELS.build(dict(type='TokenMatchingLoss'))
    loss(s, t, ds, dt, hs, ht).backward()
    assert s[0].grad is not None and t[0].grad is None
    assert torch.isfinite(hs.grad).all()


def test_token_matching_shape_mismatch_is_clear():
    loss = MODELS.build(dict(type='TokenMatchingLoss'))
    import pytest
    with pytest.raises(ValueError, match='differ in shape'):
        loss([torch.zeros(1, 4, 2, 2)], [torch.zeros(1, 4, 2, 3)], torch.zeros(1, 2, 4),
             torch.zeros(1, 2, 4), torch.zeros(1, 1, 2, 4), torch.zeros(1, 1, 2, 4))
