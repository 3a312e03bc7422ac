"""Pure-torch loss functions (no OpenMMLab imports needed) against hand computations.
``MMKD_TEST_DEVICE=cuda`` runs them on a GPU (tools/benchmark/gpu_check.sh)."""
import os

import pytest
import torch

from mmkd_ext.models.losses.functional import vkd_feature_loss

DEVICE = torch.device(os.environ.get('MMKD_TEST_DEVICE', 'cpu'))


def _t(values, dtype=torch.float32):
    return torch.tensor(values, dtype=dtype, device=DEVICE)


def test_vkd_feature_loss_smooth_l1_by_hand():
    s, t = _t([[0.5, 2.0], [0.0, -1.0]]), torch.zeros(2, 2, device=DEVICE)
    # |d| < beta: 0.5 d^2 / beta; else |d| - 0.5 beta (beta = 1)
    assert torch.isclose(vkd_feature_loss(s, t), _t((0.125 + 1.5 + 0.0 + 0.5) / 4))
    # beta = 4: all quadratic, 0.5 d^2 / 4
    assert torch.isclose(
        vkd_feature_loss(s, t, beta=4.0, reduction='sum'), _t((0.25 + 4 + 0 + 1) / 8))


def test_vkd_feature_loss_l1_l2_none_and_gradient():
    s, t = _t([1.0, -3.0]), _t([0.0, 1.0])
    assert torch.isclose(vkd_feature_loss(s, t, 'l1'), _t(2.5))
    assert torch.isclose(vkd_feature_loss(s, t, 'l2'), _t(8.5))
    assert torch.equal(vkd_feature_loss(s, t, 'l2', reduction='none'), _t([1.0, 16.0]))
    sp = s.clone().requires_grad_()
    vkd_feature_loss(sp, t, 'l2', reduction='sum').backward()
    assert torch.equal(sp.grad, 2 * (s - t))  # d/ds (s - t)^2
    with pytest.raises(ValueError, match='loss_type'):
        vkd_feature_loss(s, t, 'huber')


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_vkd_feature_loss_half_inputs_in_float32(dtype):
    g = torch.Generator().manual_seed(0)
    s = torch.randn(4, 8, generator=g).to(DEVICE, dtype)
    t = torch.randn(4, 8, generator=g).to(DEVICE)
    out = vkd_feature_loss(s, t)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, vkd_feature_loss(s.float(), t))
