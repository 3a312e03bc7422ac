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


def test_paired_difference_is_one_t_test_with_wilcoxon_as_extra_column(study):
    rng = np.random.default_rng(1)
    ref = rng.normal(90, 3, size=10)
    method = ref + rng.normal(0.5, 1.0, size=10)
    d = study.paired_difference(method, ref)
    # 10 seeds: still the t-test (until issue 19 the Wilcoxon p took over here)
    assert d['test'] == 'paired t'
    assert d['p'] == pytest.approx(stats.ttest_rel(method, ref).pvalue, rel=1e-9)
    assert d['p_wilcoxon'] == pytest.approx(stats.wilcoxon(method, ref).pvalue)
    assert d['p'] != pytest.approx(d['p_wilcoxon'])


@pytest.mark.parametrize('confidence', [0.95, 0.9])
def test_p_below_alpha_exactly_when_ci_excludes_zero(study, confidence):
    """The interval and the p-value come from the same test: over many random paired
    samples (2 to 12 seeds, effects from none to large) ``p < 1 - confidence`` holds
    exactly when the interval excludes 0, on both sides of the decision."""
    rng = np.random.default_rng(19)
    alpha, seen = 1 - confidence, {True: 0, False: 0}
    for _ in range(500):
        n = int(rng.integers(2, 13))
        ref = rng.normal(90, 3, size=n)
        method = ref + rng.normal(rng.uniform(-2, 2), rng.uniform(0.1, 3), size=n)
        d = study.paired_difference(method, ref, confidence=confidence)
        excludes = d['ci_low'] > 0 or d['ci_high'] < 0
        assert (d['p'] < alpha) == excludes, d
        assert d['p'] == pytest.approx(stats.ttest_rel(method, ref).pvalue, rel=1e-9)
        seen[excludes] += 1
    assert min(seen.values()) > 100, seen  # both outcomes were exercised


def test_holm_by_hand(study):
    assert study.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    # step-down with the running maximum, capped at 1
    assert study.holm([0.04, 0.001, 0.5, 0.02]) == pytest.approx([0.08, 0.004, 0.5, 0.06])
    assert study.holm([0.3, 0.6]) == pytest.approx([0.6, 0.6])
    assert study.holm([0.02]) == [0.02] and study.holm([]) == []
    # a comparison without a test counts as p = 1 and stays None
    assert study.holm([0.01, None,
                       0.04]) == [pytest.approx(0.03), None,
                                  pytest.approx(0.08)]
    with pytest.raises(ValueError, match='p-values'):
        study.holm([0.1, 1.5])


def test_holm_matches_statsmodels(study):
    multipletests = pytest.importorskip(
        'statsmodels.stats.multitest',
        reason='statsmodels not installed (optional check)').multipletests
    rng = np.random.default_rng(3)
    for m in (1, 2, 3, 6, 10):
        for _ in range(20):
            p = rng.uniform(0, 0.2, size=m)**rng.uniform(0.5, 2)
            expected = multipletests(p, alpha=0.05, method='holm')[1]
            assert study.holm(list(p)) == pytest.approx(list(expected), abs=1e-12)


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


def test_hold_heap_stops_large_temporaries_from_faulting_afresh(repo_root):
    """After ``hold_heap`` a freed 64 MiB block is reused without page faults (in most
    of 12 rounds: the first one or few may still fault while the heap settles); with
    the C library's defaults it is an mmap whose pages fault in again every round (in
    a subprocess: the setting lasts for the life of a process)."""
    import subprocess
    import sys
    code = ('import resource, sys; sys.path.insert(0, "tools/benchmark")\n'
            'import torch; from study import hold_heap\n'
            'held = hold_heap() if sys.argv[1] == "hold" else False\n'
            'def faults():\n'
            '    f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n'
            '    t = torch.ones(2 ** 24); del t\n'
            '    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0\n'
            'print(held, *[faults() for _ in range(12)])\n')
    out = {}
    for mode in ('hold', 'default'):
        res = subprocess.run([sys.executable, '-c', code, mode],
                             cwd=repo_root,
                             capture_output=True,
                             text=True,
                             check=True)
        held, *rounds = res.stdout.split()
        out[mode] = (held, [int(n) for n in rounds])
    assert out['hold'][0] == 'True' and out['default'][0] == 'False'
    pages = 2**26 // 4096  # 64 MiB in 4 KiB pages
    # faulted in afresh every round (fewer faults with huge pages)
    assert min(out['default'][1]) > pages // 2
    assert sum(n < 64 for n in out['hold'][1]) >= 6  # reused
    assert out['hold'][1][-1] < 64


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


def _three_methods():
    rng = np.random.default_rng(5)
    base = rng.normal(90, 2, size=6)
    return {
        'student': dict(enumerate(base)),
        'kd': dict(enumerate(base + 3 + rng.normal(0, 0.5, size=6))),
        'vkd': dict(enumerate(base + 3.2 + rng.normal(0, 0.5, size=6)))
    }


def test_paired_report_holm_over_the_declared_family(study):
    values = _three_methods()
    rep = study.paired_report(
        values, ('student', 'kd'), family=[('kd', 'student'), ('vkd', 'kd')])
    diffs = rep['differences']
    assert rep['family'] == [['kd', 'student'], ['vkd', 'kd']]
    ps = [diffs['student']['kd']['p'], diffs['kd']['vkd']['p']]
    assert [diffs['student']['kd']['p_holm'],
            diffs['kd']['vkd']['p_holm']] == pytest.approx(study.holm(ps))
    # VKD vs the student alone is shown but not tested: no p_holm, not in the family
    assert diffs['student']['vkd']['p_holm'] is None
    assert diffs['student']['vkd']['in_family'] is False
    assert diffs['student']['kd']['in_family'] is True
    json.loads(json.dumps(rep, allow_nan=False))
    # default family: every computed comparison (3 here)
    every = study.paired_report(values, ('student', 'kd'))
    assert len(every['family']) == 3
    p_all = [every['differences'][r][m]['p'] for m, r in every['family']]
    assert [every['differences'][r][m]['p_holm']
            for m, r in every['family']] == pytest.approx(study.holm(p_all))
    # a pair whose method was not run (--methods) leaves the family of that run
    two = {k: values[k] for k in ('student', 'kd')}
    rep2 = study.paired_report(
        two, ('student', 'kd'), family=[('kd', 'student'), ('vkd', 'kd')])
    assert rep2['family'] == [['kd', 'student']]
    d = rep2['differences']['student']['kd']
    assert d['p_holm'] == pytest.approx(d['p'])  # a family of one: no adjustment


def test_paired_report_rejects_a_family_pair_it_does_not_compute(study):
    values = _three_methods()
    with pytest.raises(ValueError, match='FAMILY pair'):
        # student vs kd is reported the other way round (kd vs student)
        study.paired_report(values, ('student', 'kd'), family=[('student', 'kd')])
    with pytest.raises(ValueError, match='REFERENCES'):
        study.paired_report(values, ('student', ), family=[('vkd', 'kd')])


def test_check_family_stops_before_training(study):
    refs, methods = ('student', 'kd'), ['teacher', 'student', 'kd', 'vkd']
    study.check_family([('kd', 'student'), ('vkd', 'kd')], refs, methods)
    study.check_family(None, refs, methods)
    for bad, words in ((('vkd', 'teacher'), 'REFERENCES'), (('nc9', 'kd'), 'unknown'),
                       (('student', 'kd'), 'other way'), (('vkd', ), 'pairs')):
        with pytest.raises(SystemExit, match=words):
            study.check_family([bad], refs, methods)


def test_tables_and_plot_colours_use_the_adjusted_p(study, tmp_path):
    values = _three_methods()
    rep = study.paired_report(
        values, ('student', 'kd'), family=[('kd', 'student'), ('vkd', 'kd')])
    text = study.markdown_tables(rep, {}, 'top-1')
    assert '| method | mean diff | 95 % CI | p | p_holm | p_wilcoxon | n |' in text
    assert 'family of 2 comparisons' in text
    kd = rep['differences']['student']['kd']
    assert kd['p_holm'] < 0.05 and f'**{study.stats._fmt_p(kd["p_holm"])}**' in text
    colour = study.plot.colour
    assert colour(kd) == 'tab:green' and colour(kd, higher_is_better=False) == 'tab:red'
    assert colour(rep['differences']['student']['vkd']) == 'tab:grey'  # descriptive
    # significant before the adjustment, not after: blue
    d = dict(mean=1.0, p=0.03, p_holm=0.06, in_family=True)
    assert colour(d) == 'tab:blue' and colour(dict(d, p_holm=0.04)) == 'tab:green'
    study.plot_paired(rep, {}, str(tmp_path / 'p.png'), 'title', 'top-1')
    assert (tmp_path / 'p.png').stat().st_size > 5000


@pytest.mark.parametrize('script',
                         ['digits_kd', 'digits_det', 'digits_gan', 'digits_deit'])
def test_every_study_declares_a_valid_family(study, load_tool, script):
    tool = load_tool(f'tools/benchmark/{script}.py')
    assert tool.STUDY['family'] is tool.FAMILY and tool.FAMILY
    study.check_family(tool.FAMILY, tool.REFERENCES, list(tool.CONFIGS))


def test_digits_kd_runs_the_nc_components_against_logit_kd(load_tool):
    tool = load_tool('tools/benchmark/digits_kd.py')
    assert tool.parse_args(
        ['--out', 'x']).methods == ['student', 'kd', 'vkd', 'nckd', 'nc1', 'nc2', 'nc3']
    assert tool.FAMILY == [('kd', 'student'), ('vkd', 'kd'), ('nckd', 'kd'),
                           ('nc1', 'kd'), ('nc2', 'kd'), ('nc3', 'kd')]
    for i in (1, 2, 3):
        assert tool.CONFIGS[f'nc{i}'].endswith(f'_digits_nc{i}-only.py')


def test_detection_report_recomputed_from_the_per_seed_ap(study):
    """docs/studies.md / README: the detection table, recomputed from the per-seed AP
    (seeds 0-4, 0.1 AP) printed in docs/studies.md, with its family of three."""
    ap = {
        'baseline': [5.8, 4.8, 5.0, 5.3, 9.5],
        'vkd': [5.9, 6.3, 5.7, 5.8, 6.4],
        'token_matching': [3.3, 2.8, 3.5, 3.7, 2.9]
    }
    rep = study.paired_report({
        m: dict(enumerate(v))
        for m, v in ap.items()
    }, ('baseline', 'token_matching'),
                              family=[('vkd', 'baseline'), ('token_matching', 'baseline'),
                                      ('vkd', 'token_matching')])
    got = {(m, r): d for r, diffs in rep['differences'].items() for m, d in diffs.items()}
    expected = {  # mean, CI, p, p_holm as printed in docs/studies.md
        ('vkd', 'baseline'): (-0.06, -2.26, 2.14, 0.943, 0.943),
        ('token_matching', 'baseline'): (-2.84, -5.50, -0.18, 0.041, 0.082),
        ('vkd', 'token_matching'): (2.78, 1.93, 3.63, 0.0008, 0.002),
    }
    for key, (mean, lo, hi, p, p_holm) in expected.items():
        d = got[key]
        assert (d['mean'], d['ci_low'], d['ci_high']) == pytest.approx((mean, lo, hi),
                                                                       abs=0.005), key
        assert (d['p'], d['p_holm']) == pytest.approx((p, p_holm), abs=5e-4), key


@pytest.mark.parametrize('script', ['digits_kd', 'digits_deit'])
def test_classification_study_budget_arguments(load_tool, script):
    tool = load_tool(f'tools/benchmark/{script}.py')
    args = tool.parse_args([])
    assert (args.seeds, args.epochs, args.data_fraction,
            args.teacher_epochs) == (10, 20, 0.25, None)
    quick = tool.parse_args(['--quick', '--epochs', '7'])
    assert (quick.seeds, quick.epochs, quick.data_fraction,
            quick.teacher_epochs) == (2, 1, 0.05, 1)
    with pytest.raises(SystemExit):
        tool.parse_args(['--data-fraction', '1.5'])


def test_top1_formatter(study):
    top1 = study.top1_formatter('accuracy/top1')
    assert top1({'accuracy/top1': 87.5}) == 'top-1 87.50'
    assert top1({}) == 'top-1 nan'
