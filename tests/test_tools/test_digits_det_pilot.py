"""tools/benchmark/digits_det.py --pilot / --tm-setting (docs/studies.md, section
"Detection", "The next setting"): the pilot's arms and defaults, the selection rule,
the follow-up's family of three. (The pilot end to end, on a tiny budget:
tests/integration/test_digits_det_study.py.)"""
import os.path as osp

import pytest


@pytest.fixture(scope='module')
def det(load_tool):
    return load_tool('tools/benchmark/digits_det.py')


def test_pilot_defaults_follow_the_design(det):
    args = det.parse_args(['--pilot'])
    assert args.methods == ['baseline', 'token_matching', 'tm_w1', 'tm_w025', 'tm_nodec']
    assert (args.seeds, args.teacher_epochs, args.epochs) == (2, 20, 5)
    assert args.out == 'work_dirs/studies/digits_det_pilot'
    assert args.grad_norm_iters == 100
    # explicit arguments still win
    args = det.parse_args(['--pilot', '--teacher-epochs', '7', '--out', 'x'])
    assert (args.teacher_epochs, args.out) == (7, 'x')
    # the study itself is unchanged
    args = det.parse_args([])
    assert args.methods == ['baseline', 'vkd', 'token_matching']
    assert (args.seeds, args.teacher_epochs) == (5, 7) and not args.pilot


def test_pilot_arms_are_the_variant_configs(det):
    for m, suffix in (('tm_w1', '_w1'), ('tm_w025', '_w025'), ('tm_nodec',
                                                               '_no-decoder')):
        assert det.CONFIGS[m] == det.CONFIGS['token_matching'][:-3] + suffix + '.py'
        assert osp.isfile(osp.join(det.REPO, det.CONFIGS[m]))
        assert m in det.LABELS and m in det.TM_WEIGHTS


def test_follow_up_has_the_family_of_three(det, study):
    args = det.parse_args(['--tm-setting', 'tm_w025'])
    assert args.methods == ['baseline', 'tm_w025', 'vkd']
    assert (args.seeds, args.teacher_epochs) == (5, 20)
    assert args.out == 'work_dirs/studies/digits_det_tm_w025'
    opts = det.study_options(args)
    assert opts['family'] == [('vkd', 'baseline'), ('tm_w025', 'baseline'),
                              ('vkd', 'tm_w025')]
    assert opts['references'] == ('baseline', 'tm_w025')
    study.check_family(opts['family'], opts['references'], list(det.CONFIGS))
    # weight 4 gives exactly the study's family
    assert det.follow_up_family('token_matching') == det.FAMILY


def test_modes_exclude_each_other(det):
    with pytest.raises(SystemExit):
        det.parse_args(['--pilot', '--tm-setting', 'tm_w1'])
    with pytest.raises(SystemExit):
        det.parse_args(['--tm-setting', 'tm_w1', '--methods', 'baseline', 'vkd'])


def test_grad_norm_hook_option_per_method(det):
    assert det.grad_norm_options(
        'baseline',
        100)['default_hooks.grad_norm']['prefixes'] == ('backbone', 'neck', 'decoder')
    assert det.grad_norm_options('tm_w1', 50)['default_hooks.grad_norm'] == dict(
        type='mmkd_ext.GradNormHook',
        num_iters=50,
        prefixes=('architecture.backbone', 'architecture.neck', 'architecture.decoder'))


def _ap(**gains):
    ap = {'baseline': {0: 5.0, 1: 4.0}}
    for m, (g0, g1) in gains.items():
        ap[m] = {0: 5.0 + g0, 1: 4.0 + g1}
    return ap


def test_selection_rule_largest_mean_gain_ahead_on_both_seeds(det):
    ap = _ap(
        token_matching=(-2, -1),
        tm_w1=(3.0, -0.1),
        tm_w025=(0.5, 1.0),
        tm_nodec=(0.2, 0.2))
    chosen, rows, reason = det.select_setting(ap, [0, 1])
    # tm_w1 has the largest mean (+1.45) but is behind on seed 1
    assert chosen == 'tm_w025' and 'tm_w025' in reason
    assert [r['ahead'] for r in rows] == [False, False, True, True]
    assert rows[2]['mean'] == pytest.approx(0.75)


def test_selection_rule_ties_go_to_the_smaller_weight(det):
    ap = _ap(token_matching=(1, 1), tm_w1=(1, 1), tm_w025=(0.5, 1.5), tm_nodec=(-1, 3))
    assert det.select_setting(ap, [0, 1])[0] == 'tm_w025'
    # equal mean and equal weight: the rule does not decide
    ap = _ap(token_matching=(1, 1), tm_w1=(0, 0), tm_w025=(0, 0), tm_nodec=(1, 1))
    chosen, _, reason = det.select_setting(ap, [0, 1])
    assert chosen is None and reason.startswith('undecided')


def test_selection_rule_none_ahead_claims_no_control(det):
    ap = _ap(
        token_matching=(-2, -1), tm_w1=(1, 0), tm_w025=(0.5, -1), tm_nodec=(-0.2, 0.2))
    chosen, _, reason = det.select_setting(ap, [0, 1])
    assert chosen is None and 'no 5-seed control' in reason
    del ap['tm_w1'][1]
    with pytest.raises(SystemExit, match='tm_w1'):
        det.select_setting(ap, [0, 1])
