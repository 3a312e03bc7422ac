"""Every CIFAR-100 and ImageNet distillation config builds its full model (teacher,
student, connectors), loads a teacher checkpoint file the test writes (RepDistiller
layout for CIFAR, the DeiT teacher and plain timm layouts for RegNetY-160), and runs 2
training iterations plus a validation step through tools/train.py on generated images
at a small input size. (Config contents and plain builds: tests/test_configs.)"""
import glob
import math
import os
import os.path as osp
import pickle

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmpretrain.registry import MODELS

import mmkd_ext  # noqa: F401

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CIFAR_DISTILL = sorted(
    glob.glob(osp.join(REPO, 'configs/vkd/vkd_*_cifar100.py')) +
    glob.glob(osp.join(REPO, 'configs/nckd/nckd_*_cifar100.py')))
IMAGENET = sorted(glob.glob(osp.join(REPO, 'configs/vkd/vkd_deit-*_in1k.py')))
NO_CKPT = [
    'default_hooks.checkpoint.interval=-1', 'default_hooks.checkpoint.save_last=False'
]


def rel(path):
    return osp.relpath(path, REPO)


@pytest.fixture(scope='module')
def cifar_root(tmp_path_factory):
    """CIFAR-100 python pickles: 8 train / 4 test images."""
    root = tmp_path_factory.mktemp('cifar100')
    folder = root / 'cifar-100-python'
    folder.mkdir()
    rng = np.random.default_rng(0)
    for split, n in (('train', 8), ('test', 4)):
        entry = dict(
            data=rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            fine_labels=rng.integers(0, 100, n).tolist(),
            coarse_labels=[0] * n)
        with open(folder / split, 'wb') as f:
            pickle.dump(entry, f)
    return str(root)


@pytest.fixture(scope='module')
def imagenet_root(tmp_path_factory):
    """ImageNet layout with meta/{train,val}.txt: 4 train / 2 val JPEGs, 2 classes."""
    from PIL import Image
    root = tmp_path_factory.mktemp('imagenet')
    rng = np.random.default_rng(0)
    for split, per_class in (('train', 2), ('val', 1)):
        lines = []
        for label, wnid in enumerate(('n01440764', 'n01443537')):
            os.makedirs(root / split / wnid, exist_ok=True)
            for i in range(per_class):
                name = f'{wnid}/{wnid}_{i}.JPEG'
                img = rng.integers(0, 256, (48, 40, 3), dtype=np.uint8)
                Image.fromarray(img).save(root / split / name)
                lines.append(f'{name} {label}')
        os.makedirs(root / 'meta', exist_ok=True)
        (root / 'meta' / f'{split}.txt').write_text('\n'.join(lines) + '\n')
    return str(root)


_TEACHER_FILES = {}


def repdistiller_teacher_file(cfg, path):
    """A teacher checkpoint in the public CIFAR layout ({'model': ...}, `fc`), one
    file per distinct teacher architecture."""
    key = repr(cfg.model.teacher.backbone)
    if key in _TEACHER_FILES:
        return _TEACHER_FILES[key]
    _TEACHER_FILES[key] = path
    teacher = MODELS.build(cfg.model.teacher)
    sd = {}
    for k, v in teacher.state_dict().items():
        if k.startswith('backbone.'):
            sd[k[len('backbone.'):]] = v
        elif k.startswith('head.fc.'):
            sd['fc.' + k[len('head.fc.'):]] = v
    torch.save({'model': sd, 'epoch': 240}, path)
    return path


def training_records(scalars, work_dir):
    records = scalars(work_dir)
    train = [r for r in records if 'lr' in r]
    val = [r for r in records if any('accuracy/top1' in k for k in r)]
    return train, val


DRIVER = """
import importlib.util, json, sys, traceback
spec = importlib.util.spec_from_file_location('train_tool', {tool!r})
tool = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tool)
for job in json.load(open(sys.argv[1])):
    try:
        tool.main(job['argv'])
    except BaseException:
        open(job['err'], 'w').write(traceback.format_exc())
"""


def run_configs(jobs, tmp, name):
    """Run ``tools/train.py``'s main() for each job in ONE subprocess (the stack's
    import time dominates these tiny runs); a failing job writes its traceback to
    ``job['err']`` and the others still run."""
    import json
    import subprocess
    import sys
    driver = tmp / f'{name}_driver.py'
    driver.write_text(DRIVER.format(tool=osp.join(REPO, 'tools/train.py')))
    jobs_file = tmp / f'{name}_jobs.json'
    jobs_file.write_text(json.dumps(jobs))
    # one thread: these tiny runs gain nothing from more, and a shared machine loses a
    # lot to oversubscribed OpenMP threads
    env = dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS='1')
    proc = subprocess.run(
        [sys.executable, str(driver), str(jobs_file)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc


def check_job(job):
    if osp.exists(job['err']):
        with open(job['err']) as f:
            raise AssertionError(f'tools/train.py {" ".join(job["argv"])} failed:\n' +
                                 f.read()[-6000:])


@pytest.fixture(scope='module')
def cifar_runs(cifar_root, tmp_path_factory):
    tmp = tmp_path_factory.mktemp('cifar_runs')
    jobs = {}
    for config in CIFAR_DISTILL:
        name = osp.basename(config)[:-3]
        cfg = Config.fromfile(config)
        ckpt = repdistiller_teacher_file(cfg, tmp / f'{name}_teacher.pth')
        work = tmp / name
        jobs[config] = dict(
            err=str(tmp / f'{name}.err'),
            work=str(work),
            argv=[
                rel(config), '--work-dir',
                str(work), '--cfg-options', f'model.teacher_ckpt={ckpt}',
                'train_dataloader.dataset.type=mmpretrain.LocalCIFAR100',
                f'train_dataloader.dataset.data_root={cifar_root}',
                'val_dataloader.dataset.type=mmpretrain.LocalCIFAR100',
                f'val_dataloader.dataset.data_root={cifar_root}',
                'train_dataloader.batch_size=4', 'val_dataloader.batch_size=4',
                'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0',
                'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
                'default_hooks.logger.interval=1', *NO_CKPT
            ])
    run_configs(list(jobs.values()), tmp, 'cifar')
    return jobs


@pytest.mark.parametrize('config', CIFAR_DISTILL, ids=lambda p: osp.basename(p)[:-3])
def test_cifar_distill_config_trains(config, cifar_runs, scalars):
    job = cifar_runs[config]
    check_job(job)
    train, val = training_records(scalars, job['work'])
    assert [r['iter'] for r in train] == [1, 2]
    distill = [k for k in train[0] if k.startswith('distill.loss')]
    expected = {'distill.loss_kl'} | ({'distill.loss_vkd'} if 'vkd_' in config else
                                      {'distill.loss_nc1', 'distill.loss_nc2'})
    assert set(distill) == expected
    for r in train:
        assert all(math.isfinite(r[k]) for k in distill + ['loss'])
    assert val and any('teacher' in k for k in val[-1])  # student and teacher


@pytest.fixture(scope='module')
def regnety_files(tmp_path_factory):
    """RegNetY-160 weights in the DeiT teacher layout and in plain timm layout."""
    import timm
    root = tmp_path_factory.mktemp('regnety')
    with torch.device('meta'):  # names and shapes only; values drawn below (fast)
        shapes = timm.create_model('regnety_160', pretrained=False).state_dict()
    gen = torch.Generator().manual_seed(0)
    sd = {}
    for k, v in shapes.items():
        if k.endswith('num_batches_tracked'):
            sd[k] = torch.zeros((), dtype=torch.long)
        elif k.endswith('running_var'):
            sd[k] = torch.ones(v.shape)
        else:
            sd[k] = torch.randn(v.shape, generator=gen) * 0.02
    deit = root / 'regnety_160_deit_layout.pth'
    torch.save({'model': sd}, deit)
    plain = root / 'regnety_160_timm.pth'
    torch.save(sd, plain)
    return {'tiny': str(deit), 'small': str(plain)}


@pytest.fixture(scope='module')
def imagenet_runs(imagenet_root, regnety_files, tmp_path_factory):
    tmp = tmp_path_factory.mktemp('imagenet_runs')
    jobs = {}
    for config in IMAGENET:
        name = osp.basename(config)[:-3]
        ckpt = regnety_files['tiny' if 'tiny' in config else 'small']
        work = tmp / name
        jobs[config] = dict(
            err=str(tmp / f'{name}.err'),
            work=str(work),
            argv=[
                rel(config), '--work-dir',
                str(work), '--cfg-options', f'model.teacher_ckpt={ckpt}',
                f'train_dataloader.dataset.data_root={imagenet_root}',
                f'val_dataloader.dataset.data_root={imagenet_root}',
                'train_dataloader.batch_size=2', 'val_dataloader.batch_size=2',
                'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0',
                'train_dataloader.persistent_workers=False',
                'val_dataloader.persistent_workers=False',
                'train_dataloader.dataset.pipeline.1.scale=32',
                'val_dataloader.dataset.pipeline.1.scale=36',
                'val_dataloader.dataset.pipeline.2.crop_size=32',
                'model.architecture.backbone.img_size=32', 'train_cfg.max_epochs=1',
                'default_hooks.logger.interval=1', *NO_CKPT
            ])
    run_configs(list(jobs.values()), tmp, 'imagenet')
    return jobs


@pytest.mark.parametrize('config', IMAGENET, ids=lambda p: osp.basename(p)[:-3])
def test_imagenet_config_trains(config, imagenet_runs, scalars):
    job = imagenet_runs[config]
    check_job(job)
    train, val = training_records(scalars, job['work'])
    assert [r['iter'] for r in train] == [1, 2]
    for r in train:
        for key in ('loss', 'distill.loss_vkd', 'distill.loss_kl'):
            assert math.isfinite(r[key]), key
    assert val and 'accuracy/top1' in val[-1]
