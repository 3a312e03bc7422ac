"""VKD / token-matching ViDT configs build, and the VKD config trains 2 iterations
through tools/train.py with a saved random teacher (tiny digits images)."""
import os.path as osp
import subprocess
import sys

import torch
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _build(cfg_path, **overrides):
    from mmengine.registry import DefaultScope
    from mmrazor.registry import MODELS

    import mmkd_ext  # noqa: F401
    cfg = Config.fromfile(osp.join(REPO, cfg_path))
    cfg.model.teacher_ckpt = None
    with DefaultScope.overwrite_default_scope('mmrazor'):
        return MODELS.build(cfg.model)


def test_token_matching_config_builds():
    model = _build('configs/token_matching/vidt_swin_nano_coco.py')
    assert type(model.distiller.distill_losses['loss_tm']).__name__ == \
        'TokenMatchingLoss'
    assert model.teacher.backbone.arch == 'base'


def test_vkd_config_trains_two_iterations(tmp_path, make_digits_coco):
    import mmkd_ext  # noqa: F401
    data = tmp_path / 'data'
    make_digits_coco(data, 4, 2, seed=1)
    # a saved random teacher (a nano-sized one keeps the test fast; 10 classes)
    cfg = Config.fromfile(osp.join(REPO, 'configs/vidt/vidt_swin_nano_digits.py'))
    from mmdet.registry import MODELS
    from mmengine.registry import DefaultScope
    cfg.model.num_queries = cfg.model.backbone.num_det_tokens = 10
    cfg.model.decoder.num_layers = 2
    with DefaultScope.overwrite_default_scope('mmdet'):
        teacher = MODELS.build(cfg.model)
    teacher.init_weights()
    ckpt = tmp_path / 'teacher.pth'
    torch.save(dict(state_dict=teacher.state_dict()), ckpt)
    root = f'{data}/'
    cmd = [
        sys.executable,
        'tools/train.py',
        'configs/vkd/vidt_swin_nano_digits.py',
        '--work-dir',
        str(tmp_path / 'work'),
        '--cfg-options',
        f'model.teacher_ckpt={ckpt}',
        'model.teacher.backbone.arch=nano',
        'model.teacher.neck.in_channels=[96,192,384,256]',
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}',
        f'val_evaluator.ann_file={root}annotations/instances_val.json',
        'train_dataloader.batch_size=2',
        'train_cfg.max_epochs=1',
        # fewer [DET] tokens / decoder layers: a fast CPU test
        *[
            f'model.{m}.{k}={v}' for m in ('architecture', 'teacher')
            for k, v in (('num_queries', 10), ('backbone.num_det_tokens', 10),
                         ('test_cfg.max_per_img', 10), ('decoder.num_layers', 2))
        ],
        'train_cfg.val_interval=1',
        'default_hooks.logger.interval=1'
    ]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-5000:]
    assert 'distill.loss_vkd_dec' in log and 'distill.loss_vkd_p3' in log
    assert 'student.loss_cls' in log
    assert 'coco/bbox_mAP' in log
