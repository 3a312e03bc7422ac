"""The classification study is paired and runs end to end.

* Paired seeds: for the same ``randomness.seed``, the student of the student-alone config
  and of the KD / VKD / NCKD / NC1 / NC2 / NC3 configs (built by MMEngine's Runner from
  the shipped files) starts from the same weights, sees the same first batches (subset,
  order, random-crop augmentation) and the same torch RNG state when training starts.
  Without ``RNGStateHook``'s re-seeding (``paired_streams=False``) the KD student's
  initial weights differ: the teacher and connectors the distiller builds shift the
  stream.
* ``tools/benchmark/digits_kd.py --quick`` trains the seven default methods (student,
  logit KD, VKD, NCKD and NC1 / NC2 / NC3 alone) and writes the report (per-method mean
  +- sd, paired differences with CI, paired-t p and Holm-adjusted p over the study's
  family), the JSONL results and the plot, and a rerun resumes every finished run.
"""
import json
import os.path as osp

import pytest
import torch

CONFIGS = {
    'teacher': 'configs/digits/resnet18-w32_20e_digits.py',
    'student': 'configs/digits/resnet18-w8_20e_digits.py',
    'kd': 'configs/kd/kd_resnet18-w8_resnet18-w32_20e_digits.py',
    'vkd': 'configs/vkd/vkd_resnet18-w8_resnet18-w32_20e_digits.py',
    'nckd': 'configs/nckd/nckd_resnet18-w8_resnet18-w32_20e_digits.py',
    'nc1': 'configs/nckd/nckd_resnet18-w8_resnet18-w32_20e_digits_nc1-only.py',
    'nc2': 'configs/nckd/nckd_resnet18-w8_resnet18-w32_20e_digits_nc2-only.py',
    'nc3': 'configs/nckd/nckd_resnet18-w8_resnet18-w32_20e_digits_nc3-only.py',
}


@pytest.fixture(scope='module')
def teacher_ckpt(tmp_path_factory, repo_root):
    """A (randomly initialised) teacher saved as an MMEngine checkpoint."""
    from mmengine.config import Config
    from mmpretrain.registry import MODELS

    import mmkd_ext  # noqa: F401
    cfg = Config.fromfile(osp.join(repo_root, CONFIGS['teacher']))
    model = MODELS.build(cfg.model)
    model.init_weights()
    path = tmp_path_factory.mktemp('teacher') / 'teacher.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), path)
    return str(path)


def _first_steps(study, method, repo_root, work_dir, teacher_ckpt, seed, paired=True):
    """Build the runner of a shipped config (study overrides only) and record the
    student's weights and the torch RNG state at ``before_train`` and the first two
    training batches."""
    from mmengine.config import Config
    from mmengine.hooks import Hook
    from mmengine.runner import Runner
    cfg = Config.fromfile(osp.join(repo_root, CONFIGS[method]))
    study.apply_overrides(
        cfg,
        str(work_dir),
        seed,
        epochs=1,
        data_fraction=0.05,
        teacher_ckpt=None if method == 'student' else teacher_ckpt)
    cfg.default_hooks.rng_state.paired_streams = paired
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=10**6)
    rec = {}

    class Record(Hook):

        def before_train(self, runner):
            model = runner.model
            student = getattr(model, 'architecture', model)
            rec['weights'] = {
                k: v.detach().clone()
                for k, v in student.state_dict().items()
            }
            rec['rng'] = torch.get_rng_state()

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            if batch_idx < 2:
                rec[f'batch{batch_idx}'] = (torch.stack(data_batch['inputs']).clone(), [
                    int(s.gt_label) for s in data_batch['data_samples']
                ])

    runner = Runner.from_cfg(cfg)
    # LOWEST: after RNGStateHook (VERY_LOW) has re-seeded the training stream
    runner.register_hook(Record(), 'LOWEST')
    runner.train()
    return rec


def test_paired_seed_same_student_init_data_and_streams(study, tmp_path, repo_root,
                                                        teacher_ckpt):
    runs = {
        m: _first_steps(study, m, repo_root, tmp_path / m, teacher_ckpt, seed=3)
        for m in CONFIGS if m != 'teacher'
    }
    base = runs['student']
    for method, rec in runs.items():
        # NCKD and NC3 replace the student's head (NC3Head): compare backbone and neck
        keys = [
            k for k in base['weights']
            if method not in ('nckd', 'nc3') or not k.startswith('head.')
        ]
        assert keys and all(k in rec['weights'] for k in keys), method
        for k in keys:
            assert torch.equal(rec['weights'][k], base['weights'][k]), \
                f'{method}: student weight {k} differs from the student alone'
        assert torch.equal(rec['rng'], base['rng']), method
        for b in ('batch0', 'batch1'):
            assert torch.equal(rec[b][0], base[b][0]), f'{method}: {b} images differ'
            assert rec[b][1] == base[b][1], f'{method}: {b} labels differ'
    # another seed is another student
    other = _first_steps(study, 'student', repo_root, tmp_path / 'other', teacher_ckpt, 4)
    assert not torch.equal(other['weights']['backbone.conv1.weight'],
                           base['weights']['backbone.conv1.weight'])


def test_without_reseeding_the_teacher_shifts_the_student_init(study, tmp_path, repo_root,
                                                               teacher_ckpt):
    alone = _first_steps(
        study, 'student', repo_root, tmp_path / 's', teacher_ckpt, 3, paired=False)
    kd = _first_steps(
        study, 'kd', repo_root, tmp_path / 'kd', teacher_ckpt, 3, paired=False)
    assert not torch.equal(alone['weights']['backbone.conv1.weight'],
                           kd['weights']['backbone.conv1.weight'])


def test_digits_kd_quick_end_to_end_and_resume(tmp_path, run_tool):
    out = tmp_path / 'study'
    proc = run_tool('tools/benchmark/digits_kd.py', '--quick', '--out', out)
    lines = proc.stdout.strip().splitlines()
    methods = ('student', 'kd', 'vkd', 'nckd', 'nc1', 'nc2', 'nc3')
    runs = 2 * len(methods)  # 2 seeds
    assert sum('ETA' in line for line in lines) == runs
    assert lines[-1].startswith('RESULT ')
    result = json.loads(lines[-1][len('RESULT '):])
    assert set(result['methods']) == set(methods)
    for m in methods:
        r = result['methods'][m]
        assert r['n'] == 2 and 0 <= r['mean'] <= 100 and r['sd'] >= 0
    assert set(result['differences']) == {'student', 'kd'}
    for ref, diffs in result['differences'].items():
        # logit KD is not compared again with the student alone (the mirror image)
        mirror = {'student'} if ref == 'kd' else set()
        assert set(diffs) == set(methods) - {ref} - mirror
        for d in diffs.values():
            assert d['n'] == 2 and d['test'] == 'paired t'
            assert d['ci_low'] <= d['mean'] <= d['ci_high']
            assert 0 <= d['p'] <= 1
    family = [('kd', 'student')] + [(m, 'kd')
                                    for m in ('vkd', 'nckd', 'nc1', 'nc2', 'nc3')]
    assert [tuple(pair) for pair in result['family']] == family
    for ref, diffs in result['differences'].items():
        for m, d in diffs.items():
            assert d['in_family'] == ((m, ref) in family)
            if d['in_family']:
                assert d['p'] <= d['p_holm'] <= 1
            else:
                assert d['p_holm'] is None
    records = [json.loads(x) for x in (out / 'results.jsonl').read_text().splitlines()]
    assert len(records) == 1 + runs  # teacher + runs
    report = (out / 'report.md').read_text()
    assert 'Paired difference to **student alone**' in report
    assert 'Paired difference to **logit KD (T=4)**' in report
    assert '| p | p_holm | p_wilcoxon |' in report and 'family of 6 comparisons' in report
    assert osp.getsize(out / 'paired.png') > 5000
    # a rerun trains nothing: every run is read back from results.jsonl
    again = run_tool('tools/benchmark/digits_kd.py', '--quick', '--out', out)
    assert again.stdout.count('(resumed)') == runs
    assert 'teacher: resumed' in again.stdout
    assert len((out / 'results.jsonl').read_text().splitlines()) == 1 + runs
