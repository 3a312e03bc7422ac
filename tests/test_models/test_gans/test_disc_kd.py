"""DiscriminatorKD: whitened targets inside the loss, the regression baseline, clear
errors. (The frozen teacher: test_frozen_encoder.py; GAN + KD train_step:
test_data_limited_gan.py.)"""
import pytest
import torch
import torch.nn.functional as F

from mmkd_ext.models.gans import DiscriminatorKD


def test_whitened_targets_identity_cov_inside_loss():
    torch.manual_seed(0)
    kd = DiscriminatorKD(
        student_dim=12,
        teacher_dim=16,
        connector=dict(type='OrthogonalConnector'),
        normalizer='whiten').train()
    seen = {}
    kd.loss.register_forward_hook(
        lambda mod, args, out: seen.setdefault('t', []).append(args[1].detach()))
    # correlated, scaled, shifted teacher embeddings (eigenvalues 0.25..9, so the
    # 1e-3 shrinkage changes the whitened variances by < 0.5%)
    q = torch.linalg.qr(torch.randn(16, 16)).Q
    mix = q @ torch.diag(torch.linspace(0.5, 3.0, 16)) @ q.T
    t_real = torch.randn(200, 16) @ mix + 3.0
    t_fake = torch.randn(200, 16) @ mix - 1.0
    s_real = torch.randn(200, 12, requires_grad=True)
    s_fake = torch.randn(200, 12, requires_grad=True)
    losses = kd(s_real, s_fake, t_real, t_fake)
    targets = torch.cat(seen['t'])  # exactly what the loss compared against
    assert targets.shape == (400, 16)
    cov = torch.cov(targets.T)
    assert torch.allclose(targets.mean(0), torch.zeros(16), atol=1e-4)
    assert torch.allclose(cov, torch.eye(16), atol=5e-3)  # shrinkage eps 1e-3
    sum(losses.values()).backward()
    assert s_real.grad.abs().sum() > 0 and s_fake.grad.abs().sum() > 0
    w = kd.connector.weight if not callable(
        kd.connector.weight) else kd.connector.weight()
    small = w if w.shape[0] <= w.shape[1] else w.T
    assert torch.allclose(small @ small.T, torch.eye(12), atol=1e-4)  # orthogonal


def test_regression_baseline_value():
    kd = DiscriminatorKD(
        student_dim=8, teacher_dim=8, connector=None, normalizer='none', loss_weight=10.0)
    s_r, s_f, t_r, t_f = (torch.randn(5, 8) * 2 for _ in range(4))
    out = kd(s_r, s_f, t_r, t_f)
    assert out['loss_kd_real'].item() == pytest.approx(
        10 * F.smooth_l1_loss(s_r, t_r).item(), rel=1e-6)
    assert out['loss_kd_fake'].item() == pytest.approx(
        10 * F.smooth_l1_loss(s_f, t_f).item(), rel=1e-6)
    with pytest.raises(ValueError, match='teacher_dim'):
        kd(s_r, s_f, torch.randn(5, 7), t_f)
    with pytest.raises(ValueError, match='normalizer'):
        DiscriminatorKD(normalizer='zscore')
    with pytest.raises(ValueError, match='set a connector'):
        DiscriminatorKD(student_dim=8, teacher_dim=4, connector=None)


# -- bad inputs (docs/bad_inputs.md) ----------------------------------------------------
def test_b36_gan_teacher_embedding_mismatch(raises):
    from mmkd_ext.registry import MODELS
    kd = MODELS.build(
        dict(
            type='mmkd_ext.DiscriminatorKD',
            student_dim=8,
            teacher_dim=16,
            connector=dict(type='OrthogonalConnector'),
            normalizer='whiten'))
    s = torch.randn(4, 8)
    raises(ValueError, lambda: kd(s, s, torch.randn(4, 12), torch.randn(4, 12)),
           'distill.teacher_dim', '(N, 16)', '(4, 12)')
