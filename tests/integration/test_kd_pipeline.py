"""The foundation's end-to-end runs: a plain MMPretrain teacher and an MMRazor logit-KD
student trained through tools/train.py, exact resume, conversion to a plain student
checkpoint, evaluation with tools/test.py, and a refused malicious resume."""
import json
import os
import os.path as osp
import shutil

import pytest
import torch

import mmkd_ext  # noqa: F401  (allowlists MMEngine checkpoint types)

TEACHER_CFG = 'configs/digits/resnet18-w32_20e_digits.py'
STUDENT_CFG = 'configs/digits/resnet18-w8_20e_digits.py'
KD_CFG = 'configs/kd/kd_resnet18-w8_resnet18-w32_20e_digits.py'
# small and deterministic: 20% of the training split, no random augmentation,
# every iteration logged
FAST = [
    'train_cfg.max_epochs=2',
    'param_scheduler.T_max=2',
    'train_dataloader.dataset.subset_ratio=0.15',
    'default_hooks.logger.interval=1',
    'randomness.deterministic=True',
]


def _no_augment(repo_root, cfg, tmp_dir):
    """A derived config without random augmentation (exact resume needs the data
    of an epoch to be the same whether or not the run was interrupted)."""
    path = osp.join(str(tmp_dir), 'noaug_' + osp.basename(cfg))
    with open(path, 'w') as f:
        f.write(f"_base_ = ['{osp.join(repo_root, cfg)}']\n"
                "train_dataloader = dict(dataset=dict(pipeline=["
                "dict(type='mmpretrain.PackInputs')]))\n")
    return path


def _losses(records, key='loss'):
    return {r['step']: r[key] for r in records if key in r and 'lr' in r}


@pytest.fixture(scope='module')
def teacher_ckpt(tmp_path_factory, run_tool, repo_root):
    work = tmp_path_factory.mktemp('teacher')
    run_tool('tools/train.py', _no_augment(repo_root, TEACHER_CFG, work), '--work-dir',
             work, '--cfg-options', *FAST)
    ckpt = work / 'epoch_2.pth'
    assert ckpt.is_file()
    return str(ckpt)


@pytest.fixture(scope='module')
def kd_cfg(tmp_path_factory, repo_root):
    return _no_augment(repo_root, KD_CFG, tmp_path_factory.mktemp('cfg'))


@pytest.fixture(scope='module')
def kd_run(tmp_path_factory, run_tool, teacher_ckpt, kd_cfg):
    work = tmp_path_factory.mktemp('kd')
    run_tool('tools/train.py', kd_cfg, '--work-dir', work, '--cfg-options',
             f'model.teacher_ckpt={teacher_ckpt}', *FAST)
    return work


def test_kd_trains_and_writes_checkpoints(kd_run, scalars):
    assert (kd_run / 'epoch_1.pth').is_file() and (kd_run / 'epoch_2.pth').is_file()
    records = scalars(str(kd_run))
    kl = _losses(records, 'distill.loss_kl')
    assert len(kl) >= 10 and all(v == v for v in kl.values())
    ce = _losses(records, 'loss')
    steps = sorted(ce)
    first = sum(ce[s] for s in steps[:3]) / 3
    last = sum(ce[s] for s in steps[-3:]) / 3
    assert last < first  # the student learns
    ckpt = torch.load(kd_run / 'epoch_2.pth')
    assert any(k.startswith('architecture.') for k in ckpt['state_dict'])
    assert any(k.startswith('teacher.') for k in ckpt['state_dict'])


def test_resume_gives_the_uninterrupted_losses(kd_run, tmp_path, run_tool, teacher_ckpt,
                                               scalars, kd_cfg):
    shutil.copy(kd_run / 'epoch_1.pth', tmp_path / 'epoch_1.pth')
    run_tool('tools/train.py', kd_cfg, '--work-dir', tmp_path, '--resume',
             tmp_path / 'epoch_1.pth', '--cfg-options',
             f'model.teacher_ckpt={teacher_ckpt}', *FAST)
    full = _losses(scalars(str(kd_run)))
    resumed = _losses(scalars(str(tmp_path)))
    assert resumed and min(resumed) > min(full)  # starts after epoch 1
    first = min(resumed)
    assert resumed[first] == pytest.approx(full[first], rel=1e-5, abs=1e-6)
    for step in resumed:
        assert resumed[step] == pytest.approx(full[step], rel=1e-4, abs=1e-5)


def test_converted_student_matches_in_distillation_accuracy(kd_run, tmp_path, run_tool,
                                                            scalars):
    student = tmp_path / 'student.pth'
    run_tool('tools/model_converters/convert_kd_ckpt_to_student.py',
             kd_run / 'epoch_2.pth', student)
    sd = torch.load(student, weights_only=True)['state_dict']
    assert sd and not any(k.startswith(('teacher.', 'architecture.')) for k in sd)
    out = tmp_path / 'metrics.json'
    run_tool('tools/test.py', STUDENT_CFG, student, '--work-dir', tmp_path / 't', '--out',
             out)
    plain = json.loads(out.read_text())['accuracy/top1']
    # SingleTeacherDistillValLoop logs the student as `accuracy/top1` and the
    # teacher as `teacher.accuracy/top1`
    val = [r for r in scalars(str(kd_run)) if 'teacher.accuracy/top1' in r]
    assert val, 'the distillation run logged no validation'
    assert plain == pytest.approx(val[-1]['accuracy/top1'], abs=1e-6)


def test_resume_from_malicious_checkpoint_is_refused(tmp_path, run_tool, teacher_ckpt):
    marker = tmp_path / 'pwned'
    evil = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'x': _Exploit(str(marker))}, evil)
    proc = run_tool(
        'tools/train.py',
        KD_CFG,
        '--work-dir',
        tmp_path / 'w',
        '--resume',
        evil,
        '--cfg-options',
        f'model.teacher_ckpt={teacher_ckpt}',
        *FAST,
        check=False)
    assert proc.returncode != 0
    assert 'refused to load' in proc.stderr
    assert not marker.exists()


class _Exploit:

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))
