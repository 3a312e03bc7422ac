"""Every study run can be rerun by hand: ``train_command`` prints the ``tools/train.py``
command whose ``--cfg-options``, parsed by tools/train.py itself, give exactly the config
the study trains (``apply_overrides`` + the study's options)."""
import os.path as osp
import shlex

import pytest

DET_ROOT = '/data/digits_coco_400_200'
CASES = {
    'kd': ('configs/kd/kd_resnet18-w8_resnet18-w32_20e_digits.py',
           dict(epochs=3, data_fraction=0.25,
                teacher_ckpt='/ckpt/teacher/epoch_20.pth'), None, 'epoch_3.pth'),
    'gan': ('configs/vkd/vkd_biggan-diffaug-ch16_resnet18-w32_0.5k_digits-16px-10pct.py',
            dict(iters=7), {
                'model.teacher.checkpoint': '/ckpt/teacher.pth',
                'val_evaluator.feature_extractor.checkpoint': '/ckpt/fid.pth',
                'test_evaluator.feature_extractor.checkpoint': '/ckpt/fid.pth'
            }, 'iter_7.pth'),
    'det': ('configs/vkd/vkd_vidt-swin-nano_vidt-swin-tiny_12e_digits.py',
            dict(epochs=2, teacher_ckpt='/ckpt/vidt_tiny.pth'), {
                'train_dataloader.dataset.data_root': DET_ROOT + '/',
                'val_dataloader.dataset.data_root': DET_ROOT + '/',
                'val_evaluator.ann_file': DET_ROOT + '/annotations/instances_val.json'
            }, 'epoch_2.pth'),
}


@pytest.mark.parametrize('case', sorted(CASES))
def test_printed_command_trains_the_study_config(case, study, repo_root, load_tool,
                                                 tmp_path):
    from mmengine.config import Config
    config, overrides, options, last = CASES[case]
    config = osp.join(repo_root, config)
    work_dir = str(tmp_path / 'run')
    command, ckpt = study.train_command(
        config, work_dir, 5, cfg_options=options, **overrides)
    assert ckpt == osp.join(work_dir, last)
    argv = shlex.split(command)
    assert argv[:3] == ['python', 'tools/train.py', config]
    assert 'randomness.seed=5' in argv  # always spelled out
    train = load_tool('tools/train.py')
    by_hand = train.build_cfg(train.parse_args(argv[2:]))
    cfg = Config.fromfile(config)
    study.apply_overrides(cfg, work_dir, 5, **overrides)
    if options:
        cfg.merge_from_dict(options)
    flatten = study.runs._flatten
    a, b = flatten(by_hand.to_dict()), flatten(cfg.to_dict())
    ignore = {'launcher', 'log_level'}  # set by tools/train.py / quiet study logs
    diff = {k for k in (set(a) | set(b)) - ignore if a.get(k, '?') != b.get(k, '?')}
    assert not diff, {k: (a.get(k), b.get(k)) for k in diff}
    assert a['work_dir'] == work_dir
