"""The digits VKD GAN config trains through tools/train.py (saved random teacher and
metric classifier), writes best-FID checkpoints / sample grids, and resumes."""
import os.path as osp

import torch
from mmengine.config import Config

from mmkd_ext.models.utils.checkpoint import safe_torch_load

CFG = 'configs/vkd/vkd_biggan-diffaug_resnet18-w32_3k_digits-10pct.py'


def save_random(cfg_dict, path, seed):
    from mmpretrain.registry import MODELS
    torch.manual_seed(seed)
    cfg = dict(cfg_dict)
    cfg.pop('_scope_', None)
    torch.save({'state_dict': MODELS.build(cfg).state_dict()}, path)


def test_vkd_digits_config_trains_and_resumes(tmp_path, run_tool, scalars, repo_root):
    teacher_ckpt, clf_ckpt = tmp_path / 'teacher.pth', tmp_path / 'clf.pth'
    tiny = {  # CPU-sized: 16x16 images, width-16 G / D, width-4 classifiers
        'model.teacher.checkpoint': str(teacher_ckpt),
        'model.teacher.backbone.backbone.stem_channels': 4,
        'model.teacher.backbone.backbone.base_channels': 4,
        'model.teacher.backbone.head.in_channels': 32,
        'model.distill.teacher_dim': 32,
        'val_evaluator.feature_extractor.checkpoint': str(clf_ckpt),
        'val_evaluator.feature_extractor.model.backbone.stem_channels': 4,
        'val_evaluator.feature_extractor.model.backbone.base_channels': 4,
        'val_evaluator.feature_extractor.model.head.in_channels': 32,
        'model.generator.ch': 16, 'model.generator.num_blocks': 2,
        'model.discriminator.ch': 16, 'model.discriminator.num_blocks': 3,
        'train_dataloader.dataset.img_size': 16,
        'val_evaluator.real_dataset.img_size': 16,
        'model.ema_start': 2, 'train_dataloader.batch_size': 16,
        'val_dataloader.dataset.num_samples': 40, 'val_evaluator.prdc_num': 40,
        'val_evaluator.is_splits': 2, 'train_cfg.val_interval': 4,
        'default_hooks.checkpoint.interval': 4, 'default_hooks.logger.interval': 1,
        'custom_hooks.0.interval': 2,
    }
    cfg = Config.fromfile(osp.join(repo_root, CFG))
    cfg.merge_from_dict(tiny)
    save_random(cfg.model.teacher.backbone, teacher_ckpt, 0)
    save_random(cfg.val_evaluator.feature_extractor.model, clf_ckpt, 1)
    opts = [f'{k}={v}' for k, v in tiny.items()]
    work = tmp_path / 'work'
    run_tool('tools/train.py', CFG, '--work-dir', work, '--cfg-options', *opts,
             'train_cfg.max_iters=4')
    ckpt = safe_torch_load(work / 'iter_4.pth', key_hint='test')
    keys = ckpt['state_dict'].keys()
    for prefix in ('generator.', 'discriminator.distill_head.', 'generator_ema.',
                   'distill.connector.', 'distill.normalizer.running_cov'):
        assert any(k.startswith(prefix) for k in keys), prefix
    assert set(ckpt['optimizer']) == {'generator', 'discriminator'}
    assert int(ckpt['state_dict']['num_g_steps']) == 4
    assert osp.isfile(work / 'best_gen_FID_iter_4.pth')
    assert osp.isfile(work / 'samples' / 'iter_2.png')
    records = scalars(work)
    fid = [r for r in records if 'gen/FID' in r]
    assert fid and all(
        k in fid[0]
        for k in ('gen/precision', 'gen/recall', 'gen/density', 'gen/coverage', 'gen/IS'))
    assert any('loss_kd_real' in r for r in records)

    run_tool('tools/train.py', CFG, '--work-dir', work, '--resume', '--cfg-options',
             *opts, 'train_cfg.max_iters=5')
    with open(work / 'last_checkpoint') as f:
        assert f.read().strip().endswith('iter_5.pth')
    ckpt5 = safe_torch_load(work / 'iter_5.pth', key_hint='test')
    assert int(ckpt5['state_dict']['num_g_steps']) == 5  # continued, not restarted
    # the resumed run started from iteration 4's weights: EMA is a decayed average
    # of G (ema_start=2), so it differs from G after the 5th step
    sd = ckpt5['state_dict']
    assert not torch.equal(sd['generator.linear.weight_orig'],
                           sd['generator_ema.linear.weight_orig'])
