"""tools/benchmark/connector_overhead.py: the profile's attribution of a step's time to
the projector (map, forward, backward) and the adaptive interleaved step ratio."""
import argparse
import itertools

import pytest
import torch
from torch import nn
from torch.profiler import record_function


@pytest.fixture(scope='module')
def tool(load_tool):
    return load_tool('tools/benchmark/connector_overhead.py')


def _tiny_steps(label=record_function, dims=(16, 12, 96), aa=False):
    """Steps labelled like distill_step_factory's (``label(name)``): a student layer,
    then a Linear / an orthogonal projector (cholesky_qr), loss, backward; with ``aa``
    also the A/A control's second Linear. ``dims``: input, student and teacher width."""
    from mmkd_ext.models.connectors import OrthogonalConnector
    torch.manual_seed(0)
    d_in, d_s, d_t = dims
    body = nn.Linear(d_in, d_s)
    projs = dict(linear=nn.Linear(d_s, d_t, bias=False))
    if aa:
        projs['linear_aa'] = nn.Linear(d_s, d_t, bias=False)
    projs['cholesky_qr'] = OrthogonalConnector(d_s, d_t)

    def make(proj):

        def step(x, y):
            with label('step'):
                with label('student'):
                    h = body(x)
                with label('projector'):
                    out = proj(h)
                with label('loss'):
                    loss = (out - y).square().mean()
                with label('backward'):
                    loss.backward()

        return step

    steps = {k: make(p) for k, p in projs.items()}
    return steps, torch.randn(8, d_in), torch.randn(8, d_t)


def test_profile_attributes_map_forward_and_backward_to_the_projector(tool, capsys):
    args = argparse.Namespace(profile_table=False)
    res = tool.profile_steps(args, torch.device('cpu'), setup=_tiny_steps())
    orth, lin = res['cholesky_qr'], res['linear']
    # the map (Gram + Cholesky + inverse) is inside the forward, which is in the step
    assert 0 < orth['projector.map'] < orth['projector'] < orth['step']
    assert lin.get('projector.map', 0) == 0 < lin['projector']
    # backward nodes of the projector's ops, matched by sequence number
    assert 0 < orth['projector.backward'] < orth['backward']
    assert any('SmallGram' in k for k in orth['projector_ops'])
    assert any('Cholesky' in k for k in orth['projector_ops'])
    assert not any('Cholesky' in k for k in lin['projector_ops'])
    for r in (orth, lin):
        assert 0 < r['projector_share'] < 100
    out = capsys.readouterr().out
    assert '| cholesky_qr |' in out and 'projector backward' in out
    # the labelling wrapper is removed afterwards
    from mmkd_ext.models.utils import orthogonal
    assert orthogonal.gram_factor.__name__ == 'gram_factor'


def _fake_clock(b_durations):
    """A clock advanced only by the two timed functions: a takes 1, b the next of
    ``b_durations`` (so every pair ratio is known)."""
    now = [0.0]
    dur = itertools.cycle(b_durations)

    def fa():
        now[0] += 1.0

    def fb():
        now[0] += next(dur)

    return fa, fb, lambda: now[0]


def test_paired_ratio_adds_pairs_until_the_ci_is_narrow(tool):
    fa, fb, clock = _fake_clock([1.01, 0.99, 1.03, 0.97, 1.0, 1.02, 0.98])
    fixed = tool.paired_ratio(fa, fb, repeats=6, clock=clock)
    assert fixed['n'] == 6 and fixed['ci_low'] is not None
    assert fixed['halfwidth'] > 0.005
    fa, fb, clock = _fake_clock([1.01, 0.99, 1.03, 0.97, 1.0, 1.02, 0.98])
    res = tool.paired_ratio(
        fa, fb, repeats=6, clock=clock, ci_target=0.005, max_pairs=400)
    assert res['n'] > 6 and res['halfwidth'] <= 0.005
    assert res['ci_low'] <= res['ratio'] <= res['ci_high']
    assert res['ratio'] == pytest.approx(1.0, abs=0.01)
    fa, fb, clock = _fake_clock([1.2, 0.8])  # never narrow: stops at max_pairs
    res = tool.paired_ratio(fa, fb, repeats=6, clock=clock, ci_target=0.005, max_pairs=10)
    assert res['n'] == 10 and res['halfwidth'] > 0.005


def test_step_table_runs_the_aa_control_first_and_splits_steps_into_parts(tool, capsys):
    """``--step-aa --step-parts`` on tiny steps: the A/A control (two identical linear
    steps) comes first, then the orthogonal arm; each comparison reports the median
    paired difference per labelled part, and the projector's extra work lands in the
    ``projector`` part (the orthogonal forward does a Gram, a Cholesky and two triangular
    solves more than the linear one)."""
    clock = tool.PartClock()
    steps, x, y = _tiny_steps(label=clock, dims=(64, 64, 1024), aa=True)
    assert tool.AA == 'linear_aa'
    steps = {k: clock.tag(k, fn) for k, fn in steps.items()}
    args = argparse.Namespace(
        step_aa=True,
        step_maps=['cholesky_qr'],
        step_repeats=8,
        step_ci_target=None,
        step_max_pairs=8,
        step_batch=4,
        part_clock=clock)
    rows, ratios = tool.step_table(args, torch.device('cpu'), setup=(steps, x, y))
    assert [r[1].split(' ')[0] for r in rows] == ['linear', tool.AA, 'cholesky_qr']
    assert ratios[f'step/{tool.AA}_pairs'] == ratios['step/cholesky_qr_pairs'] == 8
    parts = ratios['step/cholesky_qr_parts']
    assert set(parts) == {'step', 'student', 'projector', 'loss', 'backward'}
    assert parts['projector']['b_ms'] > parts['projector']['a_ms']
    assert parts['projector']['diff_ms'] > 0
    assert all(len(p['faults']) == 2 for p in parts.values())
    # the A/A comparison's parts come from its own pairs only (the clock is reset)
    assert set(ratios[f'step/{tool.AA}_parts']) == set(parts)
    err = capsys.readouterr().err
    assert 'cholesky_qr vs linear' in err and f'{tool.AA} vs linear' in err
