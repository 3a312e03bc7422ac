"""tools/benchmark/study (the ``study`` fixture): the paired statistics, the resumable
results file, the progress line, the plot and the interleaved timing ratio of the study
scripts."""
import json
import math

import numpy as np
import pytest
from scipy import stats


def test_mean_sd_is_the_sample_sd(study):
    m, sd, n = study.mean_sd([1.0, 2.0, 3.0, 4.0])
    assert (m, n) == (2.5, 4)
    assert sd == pytest.approx(np.std([1, 2, 3, 4], ddof=1))
    assert math.isnan(study.mean_sd([5.0])[1])


def test_paired_difference_t_interval_and_p(study):
    rng = np.random.default_rng(0)
    ref = rng.normal(90, 3, size=6)
    method = ref + rng.normal(1.0, 0.5, size=6)  # same seeds: small paired noise
    d = study.paired_difference(method, ref)
    diff = method - ref
    half = stats.t.ppf(0.975, 5) * diff.std(ddof=1) / math.sqrt(6)
    assert d['n'] == 6 and d['test'] == 'paired t'
    assert d['mean'] == pytest.approx(diff.mean())
    assert (d['ci_low'], d['ci_high']) == pytest.approx(
        (diff.mean() - half, diff.mean() + half))
    assert d['p'] == pytest.approx(stats.ttest_rel(method, ref).pvalue)
    assert d['p'] < 0.01  # the pairing removes the between-seed spread
    # unpaired, the same numbers are far from significant
    assert stats.ttest_ind(method, ref).pvalue > 0.1


def test_paired_difference_wilcoxon_from_ten_seeds(study):
    rng = np.random.default_rng(1)
    ref = rng.normal(90, 3, size=10)
    method = ref + rng.normal(0.5, 1.0, size=10)
    d = study.paired_difference(method, ref)
    assert d['test'] == 'Wilcoxon'
    assert d['p'] == d['p_wilcoxon'] == pytest.approx(stats.wilcoxon(method, ref).pvalue)
    assert d['p_t'] == pytest.approx(stats.ttest_rel(method, ref).pvalue)


def test_paired_difference_edge_cases(study):
    assert study.paired_difference([1.0], [0.0])['p'] is None
    same = study.paired_difference([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert same['p'] == 1.0 and same['ci_low'] == same['ci_high'] == 0
    with pytest.raises(ValueError, match='seed-aligned'):
        study.paired_difference([1.0, 2.0], [1.0])


def test_paired_report_uses_common_seeds_and_writes_tables(study, tmp_path):
    values = {
        'student': {
            0: 90.0,
            1: 91.0,
            2: 89.0
        },
        'kd': {
            0: 92.0,
            1: 92.5,
            2: 91.0
        },
        'vkd': {
            0: 92.5,
            1: 93.0
        }
    }  # seed 2 not finished
    rep = study.paired_report(values, ('student', 'kd'))
    assert rep['methods']['vkd']['n'] == 2
    assert rep['differences']['student']['vkd']['seeds'] == [0, 1]
    assert rep['differences']['student']['kd']['mean'] == pytest.approx(5.5 / 3)
    text = study.markdown_tables(rep, {'student': 'student alone'}, 'top-1 (%)')
    assert '| student alone | 90.00 +- 1.00 | 3 |' in text
    assert text.count('Paired difference to') == 2
    path = study.plot_paired(rep, {}, str(tmp_path / 'p.png'), 'title', 'top-1')
    assert (tmp_path / 'p.png').stat().st_size > 5000 and path.endswith('p.png')


def test_results_file_resume_and_settings(study, tmp_path):
    path = str(tmp_path / 'r.jsonl')
    rf = study.ResultsFile(path, dict(epochs=5))
    rf.append('kd', 0, {'acc': 91.0}, 1.5)
    with open(path, 'a') as f:
        f.write('{"method": "kd", "seed": 1, "trunc')  # a run killed mid-write
    again = study.ResultsFile(path, dict(epochs=5))
    assert again.done('kd', 0)['metrics'] == {'acc': 91.0}
    assert again.done('kd', 1) is None
    assert again.values('acc', ['kd', 'student']) == {'kd': {0: 91.0}, 'student': {}}
    # other settings: nothing counts as done
    assert study.ResultsFile(path, dict(epochs=6)).done('kd', 0) is None
    lines = open(path).read().splitlines()
    assert json.loads(lines[0])['settings'] == {'epochs': 5}


def test_progress_line_has_eta(study):
    p = study.Progress(total=4)
    first = p.line('kd', 0, 'top-1 90', 10.0)
    assert first.startswith('[1/4] kd seed 0') and 'ETA 0:00:30' in first
    assert '(resumed)' in p.line('kd', 1, 'top-1 91', 0.0, resumed=True)


def test_interleaved_ratio(study):
    calls = []
    res = study.interleaved_ratio(
        lambda: calls.append('a'), lambda: calls.append('b'), repeats=8, warmup=1)
    assert calls[:2] == ['a', 'b'] and calls[2:6] == ['a', 'b', 'b', 'a']
    assert res['n'] == 8 and res['ci_low'] <= res['ratio'] <= res['ci_high']


def test_paired_report_is_strict_json_with_one_seed(study):
    rep = study.paired_report({'a': {0: 1.0}, 'b': {0: 2.0}}, ('a', ))
    assert rep['methods']['a']['sd'] is None
    assert rep['differences']['a']['b']['sd'] is None
    json.loads(json.dumps(rep, allow_nan=False))


def test_paired_study_finish_with_one_method_reports_without_plot(
        study, tmp_path, capsys, repo_root):
    """``--methods`` with a single method: its runs are recorded and reported, and
    the plot (which needs a pair) is skipped instead of failing after training."""
    import argparse
    import os.path as osp
    config = osp.join(repo_root, 'configs/kd/kd_resnet18-w8_resnet18-w32_20e_digits.py')
    args = argparse.Namespace(
        methods=['kd'],
        seeds=2,
        out=str(tmp_path),
        plot=None,
        threads=1,
        jobs=None,
        quick=True,
        show_commands=False,
        epochs=1)
    paired = study.PairedStudy(
        args,
        'demo', {
            'kd': config,
            'student': config
        }, {'kd': 'KD'}, ('student', 'kd'),
        'acc',
        settings=('epochs', ),
        once=())
    assert args.jobs == 2 and args.plot == osp.join(str(tmp_path), 'paired.png')
    assert paired.settings == dict(study='demo', epochs=1, quick=True)
    for seed, acc in ((0, 90.0), (1, 92.0)):
        paired.results.append('kd', seed, {'acc': acc}, 1.0)
    report = paired.finish('header', 'acc', 'title', 'acc')
    assert report['methods']['kd']['mean'] == pytest.approx(91.0)
    assert not osp.exists(args.plot)
    out = capsys.readouterr().out
    assert 'no plot' in out and out.strip().splitlines()[-1].startswith('RESULT ')
    assert json.loads((tmp_path / 'report.json').read_text())['settings']['epochs'] == 1
