"""Exact resume (issue 8): a run resumed from a checkpoint, or restarted after a SIGKILL
mid-epoch, repeats the uninterrupted run: same logged losses, same final parameters,
buffers (connectors, prototype banks), optimizer and scheduler state. Random
augmentation stays on: mmkd_ext.RNGStateHook keeps the RNG states in checkpoints."""
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch

import mmkd_ext  # noqa: F401  (allowlists MMEngine checkpoint types)

VKD_CFG = 'configs/vkd/vkd_resnet18-w8_resnet18-w32_20e_digits.py'
NCKD_CFG = 'configs/nckd/nckd_resnet18-w8_resnet18-w32_20e_digits.py'
EPOCHS = 3
FAST = [
    f'train_cfg.max_epochs={EPOCHS}',
    f'param_scheduler.T_max={EPOCHS}',
    'train_dataloader.dataset.subset_ratio=0.1',
    'default_hooks.logger.interval=1',
    'randomness.deterministic=True',
    'randomness.seed=7',
]


def _losses(records):
    return {r['step']: r['loss'] for r in records if 'loss' in r and 'lr' in r}


def _assert_same_checkpoint(a, b):
    ca, cb = torch.load(a), torch.load(b)
    sa, sb = ca['state_dict'], cb['state_dict']
    assert sa.keys() == sb.keys()
    for k in sa:
        torch.testing.assert_close(
            sa[k], sb[k], rtol=1e-6, atol=1e-6, msg=f'state_dict[{k}] differs')
    oa, ob = ca['optimizer']['state'], cb['optimizer']['state']
    assert oa.keys() == ob.keys()
    for k in oa:
        for name, v in oa[k].items():
            if torch.is_tensor(v):
                torch.testing.assert_close(v, ob[k][name], rtol=1e-6, atol=1e-6)
    assert ca['param_schedulers'] == cb['param_schedulers']
    assert ca['meta']['iter'] == cb['meta']['iter']


def _run_and_check(cfg, teacher, tmp_path_factory, run_tool, scalars, repo_root,
                   with_kill):
    """``teacher``: a saved random teacher (the resume logic needs no trained one)."""
    opts = ['--cfg-options', f'model.teacher_ckpt={teacher}', *FAST]
    full = tmp_path_factory.mktemp('full')
    run_tool('tools/train.py', cfg, '--work-dir', full, *opts)
    final = full / f'epoch_{EPOCHS}.pth'

    # 1. resume from the epoch-1 checkpoint
    res = tmp_path_factory.mktemp('resumed')
    shutil.copy(full / 'epoch_1.pth', res / 'epoch_1.pth')
    run_tool('tools/train.py', cfg, '--work-dir', res, '--resume', res / 'epoch_1.pth',
             *opts)
    ref, got = _losses(scalars(str(full))), _losses(scalars(str(res)))
    assert got and min(got) > min(ref)
    for step, loss in got.items():
        assert loss == pytest.approx(ref[step], rel=1e-6, abs=1e-6), step
    _assert_same_checkpoint(final, res / f'epoch_{EPOCHS}.pth')
    if not with_kill:
        return

    # 2. SIGKILL in the middle of epoch 2, then `--resume` (latest checkpoint)
    killed = tmp_path_factory.mktemp('killed')
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    proc = subprocess.Popen(
        [sys.executable, 'tools/train.py', cfg, '--work-dir',
         str(killed), *opts],
        cwd=repo_root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True)
    deadline = time.time() + 600
    for line in proc.stdout:
        if 'Epoch(train) [2][2/' in line:
            proc.send_signal(signal.SIGKILL)
            break
        assert time.time() < deadline
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert (killed / 'epoch_1.pth').exists()
    assert not (killed / 'epoch_2.pth').exists()
    run_tool('tools/train.py', cfg, '--work-dir', killed, '--resume', *opts)
    _assert_same_checkpoint(final, killed / f'epoch_{EPOCHS}.pth')


def test_vkd_exact_resume_and_kill_restart(tmp_path_factory, run_tool, scalars, repo_root,
                                           digits_teacher_files):
    _run_and_check(
        VKD_CFG,
        digits_teacher_files['good'],
        tmp_path_factory,
        run_tool,
        scalars,
        repo_root,
        with_kill=True)


def test_nckd_online_bank_exact_resume(tmp_path_factory, run_tool, scalars, repo_root,
                                       digits_teacher_files):
    _run_and_check(
        NCKD_CFG,
        digits_teacher_files['good'],
        tmp_path_factory,
        run_tool,
        scalars,
        repo_root,
        with_kill=False)
