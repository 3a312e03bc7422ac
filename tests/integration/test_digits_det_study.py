"""tools/benchmark/digits_det.py --quick: the digits COCO set is built, the ViDT teacher
and the three student configs (alone, VKD, token matching) train through the runner and
are evaluated by CocoMetric; the paired AP report, the JSONL results and the plot are
written. (Several ViDT builds: about 1-3 min on a 2-core CPU.)"""
import json
import os.path as osp


def test_digits_det_quick_end_to_end(tmp_path, run_tool):
    out = tmp_path / 'study'
    proc = run_tool('tools/benchmark/digits_det.py', '--quick', '--out', out,
                    '--data-root', tmp_path / 'digits_coco')
    lines = proc.stdout.strip().splitlines()
    assert sum('ETA' in line for line in lines) == 6  # 2 seeds x 3 methods
    result = json.loads(lines[-1][len('RESULT '):])
    methods = {'baseline', 'vkd', 'token_matching'}
    assert set(result['methods']) == methods and result['unpaired'] is None
    assert set(result['differences']['baseline']) == {'vkd', 'token_matching'}
    assert set(result['differences']['token_matching']) == {'vkd'}
    records = [json.loads(x) for x in (out / 'results.jsonl').read_text().splitlines()]
    assert len(records) == 1 + 6
    assert all('coco/bbox_mAP' in r['metrics'] for r in records)
    assert 'Paired difference to **ViDT nano alone**' in (out / 'report.md').read_text()
    assert osp.getsize(out / 'paired.png') > 5000


def test_digits_det_pilot_quick_end_to_end(tmp_path, run_tool, scalars):
    """--pilot on the quick budget, the nano alone and token matching without its
    decoder term: every run logs GradNormHook's gradient norms and loss ratio, the
    report says PILOT and holds the diagnostics, the decision is the last line."""
    out = tmp_path / 'pilot'
    proc = run_tool('tools/benchmark/digits_det.py', '--pilot', '--quick', '--methods',
                    'baseline', 'tm_nodec', '--out', out, '--data-root',
                    tmp_path / 'digits_coco')
    lines = proc.stdout.strip().splitlines()
    assert sum('ETA' in line for line in lines) == 4  # 2 seeds x 2 methods
    assert lines[-1].startswith('PILOT DECISION (selection rule of docs/studies.md): ')
    for seed in (0, 1):
        for method in ('baseline', 'tm_nodec'):
            recs = [
                r for r in scalars(out / f'{method}_seed{seed}') if 'grad_norm_all' in r
            ]
            assert [r['step'] for r in recs] == [1]  # --quick: one iteration
            rec = recs[0]
            assert all(rec[f'grad_norm_{g}'] > 0 for g in ('backbone', 'neck', 'decoder'))
            assert rec['task_sum'] > 0
            assert ('distill_task_ratio' in rec) == (method == 'tm_nodec')
    report = (out / 'report.md').read_text()
    assert report.startswith('PILOT (not a result')
    assert '## PILOT diagnostics' in report and '| tm_nodec | 1 | 1 |' in report
    decision = json.loads((out / 'pilot_decision.json').read_text())
    assert [r['method'] for r in decision['rows']] == ['tm_nodec']
