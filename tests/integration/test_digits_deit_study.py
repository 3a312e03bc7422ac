"""The DeiT-from-a-CNN study (VKD Table 6, small) runs end to end: ``digits_deit.py
--quick`` trains the teacher and the six arms for 2 seeds, reports one paired t-test per
comparison with Holm over its family and the pre-stated primary comparison, and a rerun
resumes everything."""
import json
import os.path as osp

ARMS = ('alone', 'distill', 'lin_none', 'lin_std', 'orth_none', 'orth_std')
FAMILY = [('distill', 'alone'), ('orth_std', 'lin_none'), ('lin_none', 'distill'),
          ('lin_std', 'distill'), ('orth_none', 'distill'), ('orth_std', 'distill')]


def test_digits_deit_quick_end_to_end_and_resume(tmp_path, run_tool):
    out = tmp_path / 'study'
    proc = run_tool('tools/benchmark/digits_deit.py', '--quick', '--out', out)
    lines = proc.stdout.strip().splitlines()
    assert sum('ETA' in line for line in lines) == 2 * len(ARMS)
    result = json.loads(lines[-1][len('RESULT '):])
    assert set(result['methods']) == set(ARMS)
    assert [tuple(p) for p in result['family']] == FAMILY
    assert result['primary'] == ['orth_std', 'lin_none']
    primary = result['differences']['lin_none']['orth_std']
    assert primary['in_family'] and primary['test'] == 'paired t'
    assert primary['ci_low'] <= primary['mean'] <= primary['ci_high']
    assert primary['p'] <= primary['p_holm'] <= 1
    report = (out / 'report.md').read_text()
    assert 'Primary comparison: + VKD orthogonal, standardised vs + VKD linear' in report
    assert 'family of 6 comparisons' in report
    assert osp.getsize(out / 'paired.png') > 5000
    again = run_tool('tools/benchmark/digits_deit.py', '--quick', '--out', out)
    assert again.stdout.count('(resumed)') == 2 * len(ARMS)
