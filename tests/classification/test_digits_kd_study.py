"""tools/benchmark/digits_kd.py runs end to end with 1 seed and tiny settings: every
method trains, the table / JSON / PNG are written and the RESULT line parses."""
import json
import os.path as osp


def test_digits_kd_smoke(tmp_path, run_tool):
    out = tmp_path / 'study'
    proc = run_tool('tools/benchmark/digits_kd.py', '--seeds', '1', '--epochs', '1',
                    '--teacher-epochs', '1', '--subset-ratio', '0.05',
                    '--batch-size', '36', '--out', out)
    lines = proc.stdout.strip().splitlines()
    assert lines[-1].startswith('RESULT ')
    result = json.loads(lines[-1][len('RESULT '):])
    methods = ('student', 'kd', 'linear', 'vkd', 'vkd_nonorm', 'vkd_expm', 'nckd',
               'vkd_nckd')
    assert set(result['top1_mean']) == set(methods)
    assert all(0 <= v <= 100 for v in result['top1_mean'].values())
    table = (out / 'results.md').read_text()
    assert table.count('\n| ') == len(methods) + 1  # header + one row per method
    summary = json.loads((out / 'results.json').read_text())
    for m in methods:
        r = summary['methods'][m]
        assert len(r['top1']) == 1 and all(v == v for v in r['nc1'] + r['nc2'])
    assert osp.getsize(out / 'results.png') > 1000
