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
