"""VKDLoss against hand computations."""
import pytest
import torch

import mmkd_ext  # noqa: F401
from mmkd_ext.models.losses import VKDLoss


def test_smooth_l1_hand_computation():
    s = torch.tensor([[0.5, 2.0], [0.0, -1.0]])
    t = torch.zeros(2, 2)
    # |d| < beta: 0.5 d^2 / beta; else |d| - 0.5 beta (beta = 1)
    expect = (0.125 + 1.5 + 0.0 + 0.5) / 4
    assert torch.isclose(VKDLoss()(s, t), torch.tensor(expect))
    assert torch.isclose(VKDLoss(loss_weight=2.0)(s, t), torch.tensor(2 * expect))
    # beta = 4: all quadratic, 0.5 d^2 / 4
    assert torch.isclose(
        VKDLoss(beta=4.0, reduction='sum')(s, t), torch.tensor((0.25 + 4 + 0 + 1) / 8))


def test_l1_l2_and_none():
    s = torch.tensor([1.0, -3.0])
    t = torch.tensor([0.0, 1.0])
    assert torch.isclose(VKDLoss('l1')(s, t), torch.tensor(2.5))
    assert torch.isclose(VKDLoss('l2')(s, t), torch.tensor(8.5))
    assert torch.equal(VKDLoss('l2', reduction='none')(s, t), torch.tensor([1.0, 16.0]))


def test_half_inputs_and_errors():
    s = torch.randn(4, 8, dtype=torch.float16)
    out = VKDLoss()(s, torch.zeros(4, 8))
    assert out.dtype == torch.float32
    with pytest.raises(ValueError, match='out_channels'):
        VKDLoss()(torch.randn(4, 8), torch.randn(4, 9))
    with pytest.raises(ValueError, match='loss_type'):
        VKDLoss('huber')
    with pytest.raises(ValueError, match='beta'):
        VKDLoss(beta=0)


# -- bad inputs (docs/bad_inputs.md) ----------------------------------------------------
def test_b12_vkd_loss_shape_mismatch(raises, razor_build):
    loss = razor_build(dict(type='VKDLoss'))
    raises(ValueError, lambda: loss(torch.randn(4, 8), torch.randn(4, 16)), '(4, 8)',
           '(4, 16)', '`out_channels`')


def test_b13_vkd_loss_unknown_type(raises, razor_build):
    raises(ValueError, lambda: razor_build(dict(type='VKDLoss', loss_type='kl')),
           '`loss_type`', "'smooth_l1'", "'kl'")


def test_b18_empty_batch(raises, razor_build):
    """B18, VKDLoss (the NC losses: test_nc_losses.py)."""
    loss = razor_build(dict(type='VKDLoss'))
    fn = lambda: loss(torch.randn(0, 8), torch.randn(0, 8))  # noqa: E731
    names = ['VKDLoss', 'empty', 'at least one']
    raises(ValueError, fn, *names)
