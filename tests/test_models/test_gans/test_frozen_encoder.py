"""FrozenImageEncoder, the GAN teacher: loads its file strictly and stays frozen; the
CLIP ViT-B/32 route reads MMPretrain's converted CLIP keys."""
import pytest
import torch

from mmkd_ext.models.gans import FrozenImageEncoder
from mmkd_ext.models.utils.checkpoint import CheckpointError


def test_frozen_encoder_loads_file_and_stays_frozen(tmp_path, tiny_teacher_cfg):
    torch.manual_seed(0)
    enc = FrozenImageEncoder(**{
        k: v
        for k, v in tiny_teacher_cfg().items() if k != 'type'
    })
    path = tmp_path / 'teacher.pth'
    torch.save(
        {
            'state_dict': {
                f'backbone.{k}': v
                for k, v in enc.backbone.state_dict().items()
            }
        }, path)
    torch.manual_seed(1)
    enc2 = FrozenImageEncoder(**{
        k: v
        for k, v in tiny_teacher_cfg(str(path)).items() if k != 'type'
    })
    x = torch.rand(3, 3, 8, 8) * 2 - 1
    assert torch.equal(enc(x), enc2(x)) and enc(x).shape == (3, 32)
    enc2.train()
    assert not enc2.training and not any(p.requires_grad for p in enc2.parameters())
    with pytest.raises(CheckpointError, match='model.teacher.checkpoint'):
        FrozenImageEncoder(
            backbone=tiny_teacher_cfg()['backbone'],
            checkpoint=str(tmp_path / 'missing.pth'),
            key_hint='model.teacher')
    with pytest.raises(CheckpointError, match='visual.'):
        FrozenImageEncoder(
            backbone=tiny_teacher_cfg()['backbone'],
            checkpoint=str(path),
            ckpt_prefixes=dict(backbone='visual.'))


def test_clip_route_config_loads_converted_keys(tmp_path, repo_root):
    """The CLIP ViT-B/32 teacher config (shrunk to a tiny ViT) loads a checkpoint in
    the layout of MMPretrain's openai-clip converter (visual.*, visual_proj.proj)."""
    import os.path as osp

    from mmengine.config import Config
    from mmpretrain.registry import MODELS as PRETRAIN_MODELS
    cfg = Config.fromfile(
        osp.join(repo_root, 'configs/_base_/gan/clip-vit-b32_teacher.py'))
    teacher = cfg.clip_teacher.to_dict()
    assert teacher['backbone']['patch_size'] == 32 and teacher['scale_factor'] == 7
    teacher['backbone']['arch'] = dict(
        embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64)
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


# -- bad inputs (docs/bad_inputs.md) ----------------------------------------------------
def test_b37_gan_teacher_input_size_mismatch(raises):
    vit = dict(
        type='mmpretrain.VisionTransformer',
        arch='deit-tiny',
        img_size=32,
        patch_size=8,
        out_type='cls_token')
    enc = FrozenImageEncoder(backbone=vit)
    raises(ValueError, lambda: enc(torch.rand(2, 3, 16, 16) * 2 - 1), '(16, 16)',
           'img_size=(32, 32)', '`scale_factor`')
    assert FrozenImageEncoder(
        backbone=vit, scale_factor=2)(torch.rand(2, 3, 16, 16) * 2 - 1).shape == (2, 192)
    raises(
        ValueError, lambda: FrozenImageEncoder(
            backbone=vit, input_size=32, scale_factor=2, key_hint='model.teacher'),
        'model.teacher', 'input_size or scale_factor')
