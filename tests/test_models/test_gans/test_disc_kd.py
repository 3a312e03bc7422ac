"""Discriminator distillation: whitened targets inside the loss, regression baseline,
frozen teacher encoder and GAN + KD train_step."""
import pytest
import torch
import torch.nn.functional as F

from mmkd_ext.models.gans import DataLimitedGAN, DiscriminatorKD, FrozenImageEncoder


def test_whitened_targets_identity_cov_inside_loss():
    torch.manual_seed(0)
    kd = DiscriminatorKD(student_dim=12, teacher_dim=16,
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
    w = kd.connector.weight if not callable(kd.connector.weight) else kd.connector.weight()
    small = w if w.shape[0] <= w.shape[1] else w.T
    assert torch.allclose(small @ small.T, torch.eye(12), atol=1e-4)  # orthogonal


def test_regression_baseline_value():
    kd = DiscriminatorKD(student_dim=8, teacher_dim=8, connector=None,
                         normalizer='none', loss_weight=10.0)
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


def tiny_teacher_cfg(ckpt=None):
    return dict(type='FrozenImageEncoder',
                backbone=dict(type='mmpretrain.ResNet_CIFAR', depth=18,
                              stem_channels=4, base_channels=4, out_indices=(3, )),
                checkpoint=ckpt, ckpt_prefixes=None if ckpt is None else
                dict(backbone='backbone.'), input_size=16)


def test_frozen_encoder_loads_file_and_stays_frozen(tmp_path):
    torch.manual_seed(0)
    enc = FrozenImageEncoder(**{k: v for k, v in tiny_teacher_cfg().items()
                                if k != 'type'})
    path = tmp_path / 'teacher.pth'
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in
                               enc.backbone.state_dict().items()}}, path)
    torch.manual_seed(1)
    enc2 = FrozenImageEncoder(**{k: v for k, v in tiny_teacher_cfg(str(path)).items()
                                 if k != 'type'})
    x = torch.rand(3, 3, 8, 8) * 2 - 1
    assert torch.equal(enc(x), enc2(x)) and enc(x).shape == (3, 32)
    enc2.train()
    assert not enc2.training and not any(p.requires_grad for p in enc2.parameters())
    with pytest.raises(FileNotFoundError, match='model.teacher.checkpoint'):
        FrozenImageEncoder(backbone=tiny_teacher_cfg()['backbone'],
                           checkpoint=str(tmp_path / 'missing.pth'),
                           key_hint='model.teacher')
    with pytest.raises(KeyError, match='visual.'):
        FrozenImageEncoder(backbone=tiny_teacher_cfg()['backbone'], checkpoint=str(path),
                           ckpt_prefixes=dict(backbone='visual.'))


def test_gan_train_step_with_vkd():
    from mmkd_ext.engine import GANOptimWrapperConstructor
    torch.manual_seed(0)
    model = DataLimitedGAN(
        generator=dict(type='BigGANGenerator', num_classes=3, z_dim=16, ch=16,
                       num_blocks=1),
        discriminator=dict(type='BigGANDiscriminator', num_classes=3, ch=16,
                           num_blocks=2, num_down=1, distill_dims=(64, 24)),
        num_classes=3, disc_steps=2, teacher=tiny_teacher_cfg(),
        distill=dict(type='DiscriminatorKD', student_dim=24, teacher_dim=32,
                     connector=dict(type='OrthogonalConnector'), normalizer='whiten'))
    ow = GANOptimWrapperConstructor(dict(
        generator=dict(optimizer=dict(type='Adam', lr=1e-3)),
        discriminator=dict(optimizer=dict(type='Adam', lr=1e-3))))(model)
    d_params = {id(p) for g in ow['discriminator'].optimizer.param_groups
                for p in g['params']}
    assert all(id(p) in d_params for p in model.distill.parameters())
    assert not any(id(p) in d_params for p in model.teacher.parameters())
    teacher_before = {k: v.clone() for k, v in model.teacher.state_dict().items()}
    data = dict(inputs=torch.randint(0, 256, (8, 3, 8, 8), dtype=torch.uint8),
                data_samples=torch.randint(0, 3, (8, )))
    model.train()
    log = model.train_step(data, ow)
    assert {'loss_kd_real', 'loss_kd_fake', 'loss_g'} <= set(log)
    assert all(torch.isfinite(v) for v in log.values())
    for k, v in model.teacher.state_dict().items():
        assert torch.equal(v, teacher_before[k]), k  # frozen, BN stats untouched
    with pytest.raises(ValueError, match='distill_dims'):
        DataLimitedGAN(
            generator=dict(type='BigGANGenerator', num_classes=3, z_dim=16, ch=16,
                           num_blocks=1),
            discriminator=dict(type='BigGANDiscriminator', num_classes=3, ch=16),
            num_classes=3, teacher=tiny_teacher_cfg(),
            distill=dict(type='DiscriminatorKD', student_dim=24, teacher_dim=32,
                         connector=dict(type='OrthogonalConnector')))


def test_clip_route_config_loads_converted_keys(tmp_path, repo_root):
    """The CLIP ViT-B/32 teacher config (shrunk to a tiny ViT) loads a checkpoint in
    the layout of MMPretrain's openai-clip converter (visual.*, visual_proj.proj)."""
    import os.path as osp

    from mmengine.config import Config
    from mmpretrain.registry import MODELS as PRETRAIN_MODELS
    cfg = Config.fromfile(osp.join(repo_root,
                                   'configs/_base_/gan/clip-vit-b32_teacher.py'))
    teacher = cfg.clip_teacher.to_dict()
    assert teacher['backbone']['patch_size'] == 32 and teacher['scale_factor'] == 7
    teacher['backbone']['arch'] = dict(embed_dims=32, num_layers=2, num_heads=2,
                                       feedforward_channels=64)
    teacher['projection'].update(in_channels=32, out_channels=16)
    torch.manual_seed(0)
    vit = PRETRAIN_MODELS.build(dict(teacher['backbone']))  # 'mmpretrain.' types
    from mmkd_ext.models.gans.frozen_encoder import CLIPImageProjection
    proj = CLIPImageProjection(32, 16)
    converted = {f'visual.{k}': v for k, v in vit.state_dict().items()}
    converted['visual_proj.proj'] = proj.proj.detach().clone()
    converted['text_projection'] = torch.zeros(3)  # text keys are ignored
    path = tmp_path / 'clip_converted.pth'
    torch.save(converted, path)
    teacher['checkpoint'] = str(path)
    enc = FrozenImageEncoder(**{k: v for k, v in teacher.items() if k != 'type'})
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    out = enc(x)
    assert out.shape == (2, 16)
    # same as running the source modules on the x7-upsampled, CLIP-normalised input
    up = torch.nn.functional.interpolate(x, scale_factor=7, mode='nearest')
    up = ((up + 1) * 127.5 - enc.mean) / enc.std
    vit.eval()
    with torch.no_grad():
        ref = proj(vit(up))[-1]
    assert torch.allclose(out, ref, atol=1e-5)
