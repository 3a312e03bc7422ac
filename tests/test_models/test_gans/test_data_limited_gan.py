"""DataLimitedGAN.train_step: D/G step counts, EMA schedule, exact resume, the step
with discriminator distillation (frozen teacher, VKD head)."""
import copy

import pytest
import torch
from mmengine.optim import OptimWrapperDict

from mmkd_ext.engine import GANOptimWrapperConstructor
from mmkd_ext.models.gans import DataLimitedGAN
from mmkd_ext.models.utils.checkpoint import safe_torch_load


def small_gan(**kw):
    cfg = dict(
        generator=dict(
            type='BigGANGenerator',
            num_classes=3,
            z_dim=16,
            ch=16,
            bottom_width=4,
            num_blocks=1),
        discriminator=dict(
            type='BigGANDiscriminator', num_classes=3, ch=16, num_blocks=2, num_down=1),
        num_classes=3,
        disc_steps=3,
        ema_decay=0.9,
        ema_start=2)
    cfg.update(kw)
    return DataLimitedGAN(**cfg)


def optim(model):
    return GANOptimWrapperConstructor(
        dict(
            generator=dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.0, 0.999))),
            discriminator=dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.0,
                                                                           0.999)))))(
                                                                               model)


def batch(n=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    return dict(
        inputs=torch.randint(0, 256, (n, 3, 8, 8), generator=g, dtype=torch.uint8),
        data_samples=torch.randint(0, 3, (n, ), generator=g))


def adam_steps(wrapper):
    return {int(s['step']) for s in wrapper.optimizer.state.values()}


def test_step_counts_and_ema():
    torch.manual_seed(0)
    model = small_gan()
    ow = optim(model)
    assert isinstance(ow, OptimWrapperDict) and set(
        ow.keys()) == {'generator', 'discriminator'}
    g_before = copy.deepcopy(model.generator.state_dict())
    log = model.train_step(batch(), ow)
    assert {'loss_d', 'loss_d_real', 'loss_d_fake', 'loss_g'} <= set(log)
    assert adam_steps(ow['discriminator']) == {3}  # disc_steps D updates
    assert adam_steps(ow['generator']) == {1}  # one G update
    assert not torch.equal(g_before['linear.weight_orig'],
                           model.generator.linear.weight_orig)
    # before ema_start: plain copy of G (parameters and buffers)
    for k, v in model.generator.state_dict().items():
        assert torch.equal(v, model.generator_ema.state_dict()[k]), k
    model.train_step(batch(seed=1), ow)  # step 2 == ema_start: still a copy
    ema_prev = {k: v.clone() for k, v in model.generator_ema.state_dict().items()}
    model.train_step(batch(seed=2), ow)  # step 3: decayed average
    g_now = model.generator.state_dict()
    for k, v in model.generator_ema.state_dict().items():
        if v.is_floating_point() and not k.endswith(('_u', '_v')):
            assert torch.allclose(v, 0.9 * ema_prev[k] + 0.1 * g_now[k], atol=1e-6), k
    # spectral-norm vectors: re-estimated for the averaged weight, not averaged
    lin = model.generator_ema.linear
    sigma = torch.linalg.matrix_norm(lin.weight_orig.detach(), ord=2)
    assert float(lin.weight_u @ lin.weight_orig.detach() @ lin.weight_v) == \
        pytest.approx(float(sigma), rel=1e-2)
    assert not torch.equal(model.generator_ema.linear.weight_orig,
                           model.generator.linear.weight_orig)
    assert int(model.num_g_steps) == 3
    # D gradients from the G step never leak into the next D step
    assert all(p.requires_grad for p in model.discriminator.parameters())


def test_resume_restores_exactly(tmp_path):
    torch.manual_seed(0)
    model = small_gan()
    ow = optim(model)
    for i in range(3):
        model.train_step(batch(seed=i), ow)
    path = tmp_path / 'ckpt.pth'
    torch.save(dict(state_dict=model.state_dict(), optimizer=ow.state_dict()), path)
    ckpt = safe_torch_load(path, key_hint='test')
    assert any(k.startswith('generator_ema.') for k in ckpt['state_dict'])
    assert set(ckpt['optimizer']) == {'generator', 'discriminator'}

    torch.manual_seed(123)
    model2 = small_gan()
    ow2 = optim(model2)
    model2.load_state_dict(ckpt['state_dict'])
    ow2.load_state_dict(ckpt['optimizer'])
    assert int(model2.num_g_steps) == 3
    torch.manual_seed(7)
    log1 = model.train_step(batch(seed=9), ow)
    torch.manual_seed(7)
    log2 = model2.train_step(batch(seed=9), ow2)
    for k in log1:
        assert torch.equal(log1[k], log2[k]), k
    for (k, a), b in zip(model.state_dict().items(), model2.state_dict().values()):
        assert torch.equal(a, b), k


def test_bad_config_errors():
    with pytest.raises(ValueError, match='disc_steps'):
        small_gan(disc_steps=0)
    model = small_gan()
    with pytest.raises(ValueError, match='multiple of model.disc_steps'):
        model.train_step(batch(n=4), optim(model))
    with pytest.raises(ValueError, match='teacher and model.distill'):
        small_gan(distill=dict(type='DiscriminatorKD'))


def test_val_step_samples_ema():
    model = small_gan().eval()
    out = model.val_step(dict(noise=torch.randn(4, 16), label=torch.arange(4) % 3))
    assert len(out) == 4 and out[0]['fake_img'].shape == (3, 8, 8)
    with pytest.raises(KeyError, match='noise'):
        model.val_step(batch())


def test_gan_train_step_with_vkd(tiny_teacher_cfg, tiny_kd_gan):
    model = tiny_kd_gan((64, 24), disc_steps=2, student_dim=24, teacher_dim=32)
    ow = GANOptimWrapperConstructor(
        dict(
            generator=dict(optimizer=dict(type='Adam', lr=1e-3)),
            discriminator=dict(optimizer=dict(type='Adam', lr=1e-3))))(
                model)
    d_params = {
        id(p)
        for g in ow['discriminator'].optimizer.param_groups
        for p in g['params']
    }
    assert all(id(p) in d_params for p in model.distill.parameters())
    assert not any(id(p) in d_params for p in model.teacher.parameters())
    teacher_before = {k: v.clone() for k, v in model.teacher.state_dict().items()}
    data = dict(
        inputs=torch.randint(0, 256, (8, 3, 8, 8), dtype=torch.uint8),
        data_samples=torch.randint(0, 3, (8, )))
    model.train()
    log = model.train_step(data, ow)
    assert {'loss_kd_real', 'loss_kd_fake', 'loss_g'} <= set(log)
    assert all(torch.isfinite(v) for v in log.values())
    for k, v in model.teacher.state_dict().items():
        assert torch.equal(v, teacher_before[k]), k  # frozen, BN stats untouched
    with pytest.raises(ValueError, match='distill_dims'):
        DataLimitedGAN(
            generator=dict(
                type='BigGANGenerator', num_classes=3, z_dim=16, ch=16, num_blocks=1),
            discriminator=dict(type='BigGANDiscriminator', num_classes=3, ch=16),
            num_classes=3,
            teacher=tiny_teacher_cfg(),
            distill=dict(
                type='DiscriminatorKD',
                student_dim=24,
                teacher_dim=32,
                connector=dict(type='OrthogonalConnector')))


def test_ema_keeps_spectral_norm_sigma_true():
    """The EMA generator is evaluated in eval mode, where spectral norm divides by the
    stored u^T W v: after every EMA update the stored sigma equals the averaged
    weight's top singular value (plain averaging of u, v shortens them and the stored
    sigma falls: docs/gan.md, seed 9), also when the raw weight turns every step."""
    import torch.nn as nn

    from mmkd_ext.models.gans.ema import ema_update_

    def sn_linear():
        return nn.utils.spectral_norm(nn.Linear(6, 5), n_power_iterations=1, eps=1e-8)

    torch.manual_seed(0)
    raw, ema = sn_linear(), sn_linear()
    ema_update_(ema, raw, 0.9, copy=True)
    u_avg, v_avg = ema.weight_u.clone(), ema.weight_v.clone()  # the old rule: averaged
    for _ in range(30):
        with torch.no_grad():  # the raw layer's top singular direction turns
            raw.weight_orig.copy_(torch.randn(5, 6))
        raw(torch.randn(3, 6))  # training-mode power iteration of the raw layer
        ema_update_(ema, raw, 0.9)
        u_avg.lerp_(raw.weight_u, 0.1)
        v_avg.lerp_(raw.weight_v, 0.1)
        w = ema.weight_orig.detach()
        stored = float(ema.weight_u @ w @ ema.weight_v)
        true = float(torch.linalg.matrix_norm(w, ord=2))
        assert stored == pytest.approx(true, rel=1e-2)
    assert float(u_avg @ w @ v_avg) < 0.5 * true  # what averaging u, v would give
    ema.eval()
    with torch.no_grad():
        ema(torch.randn(1, 6))  # eval: no power iteration, weight = W / (u^T W v)
    sigma = torch.linalg.matrix_norm(ema.weight.detach(), ord=2)
    assert float(sigma) == pytest.approx(1.0, rel=1e-3)
