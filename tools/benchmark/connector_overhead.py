"""Cost of VKD's orthogonal projector against a plain linear one.

1. Projector micro-benchmark: forward + backward of ``y = x P^T`` (recomputing the
   orthogonal weight as training does) for every ``OrthogonalConnector``
   parametrization, ``nn.Linear`` and PyTorch's ``parametrizations.orthogonal``
   (householder, cayley, matrix_exp) at (batch 256, 192 -> 3024), (256, 384 -> 3024)
   and (2048 tokens, 256 -> 256). Median time of ``--repeats`` and peak memory (CUDA:
   ``max_memory_allocated``; CPU: bytes saved for backward + parameters, as CPU has no
   allocator statistics).
2. Full distillation step (``--step``), the direct measurement: MMPretrain DeiT-tiny
   student (distilled, class + distillation tokens) and a timm RegNetY-160 teacher
   (random weights) at batch 32: CE + KL(distillation head, teacher) +
   VKD(projector(mean patch token), standardised teacher pooled 3024-d feature),
   backward, AdamW step; the linear and the orthogonal step alternate (ABBA) in the same
   process on the same batch, ``--step-repeats`` pairs; reported: the median of the
   per-pair time ratios with its distribution-free 95 % CI
   (``study.interleaved_ratio``; >= 6 pairs for a CI). ``--step-ci-target 0.005``
   adds pairs until the CI's half-width is 0.5 % of the ratio (or
   ``--step-max-pairs``). On a shared CPU use ``--clock cpu --threads 1`` (process CPU
   time of one thread: other processes' load barely moves it). ``--step-aa`` first
   runs an A/A control (the linear step against an identical second one: its CI should
   contain 1); ``--step-parts`` splits every timed step into its labelled parts (CPU ms
   and minor page faults) and prints their median paired differences. By default the
   heap is held (``--heap hold``, ``study.hold_heap``): freed memory stays in the
   process, so a step does not page-fault its large temporaries afresh (with glibc's
   defaults that is 10-13 % of the step's CPU time and varies between steps and
   between the arms by more than the projector's cost).
3. Profile (``--profile``): one full step per projector under ``torch.profiler`` (CPU),
   the step split into labelled parts (teacher, student, projector, loss, backward,
   optimizer) and the projector's own map (``gram_factor``), forward and backward (the
   autograd nodes its forward created, matched by sequence number) in ms and as a
   share of the step; ``--profile-table`` also prints the top operators. Shares are
   robust to machine load, absolute times are not.

The numbers are measurements of the device they ran on (``RESULT`` names it): a CPU
ratio is not comparable with the paper's GPU figure (+36 % training time for the
orthogonal projector, DeiT on 8 GPUs), whose cost split between the backbone and the
projector is different.

Prints a markdown table, then one line ``RESULT <json>`` with the ratios to nn.Linear.

    python tools/benchmark/connector_overhead.py --quick            # a minute on CPU
    python tools/benchmark/connector_overhead.py --quick --step --step-repeats 11
    python tools/benchmark/connector_overhead.py --no-table --profile --threads 1
    python tools/benchmark/connector_overhead.py --no-table --step --clock cpu \
        --threads 1 --step-repeats 12 --step-ci-target 0.005
    python tools/benchmark/connector_overhead.py --no-table --step --step-aa \
        --step-parts --clock cpu --threads 1 --step-repeats 12 --step-ci-target 0.005
    python tools/benchmark/connector_overhead.py --shapes 256x192x3024 --maps polar linear
"""
import argparse
import contextlib
import json
import resource
import statistics
import sys
import time

import torch
from torch import nn

DEFAULT_SHAPES = ['256x192x3024', '256x384x3024', '2048x256x256']
OURS = [
    'cholesky_qr', 'polar', 'newton_schulz', 'stiefel_exp', 'matrix_exp', 'householder',
    'cayley'
]
TORCH = ['torch_householder', 'torch_cayley', 'torch_matrix_exp']
# maps whose cost grows with max(d)^3 (or d^2 sequential reflections): tens of
# seconds per step at d_t = 3024 on a CPU; run once unless --slow-repeats says more
# wall clock by default; --clock cpu uses this process's CPU time, robust on a shared,
# oversubscribed machine (use it with --threads 1: OpenMP spin-waits count as CPU time)
CLOCK = [time.perf_counter]
SLOW = {
    'matrix_exp', 'householder', 'cayley', 'torch_householder', 'torch_cayley',
    'torch_matrix_exp'
}


def build_projector(name, d_s, d_t):
    from mmkd_ext.models.connectors import OrthogonalConnector
    if name == 'linear':
        return nn.Linear(d_s, d_t, bias=False)
    if name.startswith('torch_'):
        return nn.utils.parametrizations.orthogonal(
            nn.Linear(d_s, d_t, bias=False), orthogonal_map=name[len('torch_'):])
    return OrthogonalConnector(d_s, d_t, parametrization=name)


class _SavedBytes:
    """Counts bytes of tensors saved for backward (CPU proxy for peak memory)."""

    def __init__(self):
        self.total = 0

    def pack(self, t):
        self.total += t.numel() * t.element_size()
        return t

    @staticmethod
    def unpack(t):
        return t


def _fwd_bwd(proj, x):
    proj.zero_grad(set_to_none=True)
    proj(x).square().mean().backward()


def peak_memory(proj, x, device):
    """CUDA: max_memory_allocated of one step; CPU: saved-for-backward + params."""
    if device.type == 'cuda':
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        _fwd_bwd(proj, x)
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated()
    saved = _SavedBytes()
    proj.zero_grad(set_to_none=True)
    with torch.autograd.graph.saved_tensors_hooks(saved.pack, saved.unpack):
        y = proj(x)
    y.square().mean().backward()
    return saved.total + sum(p.numel() * p.element_size() for p in proj.parameters())


def projector_table(args, device):
    """Per shape: every projector timed in interleaved rounds (robust to load drift)."""
    rows, ratios = [], {}
    for shape in args.shapes:
        n, d_s, d_t = (int(v) for v in shape.split('x'))
        # the student feature needs its gradient in distillation
        x = torch.randn(n, d_s, device=device, requires_grad=True)
        names = ['linear'] + [m for m in args.maps if m != 'linear']
        projs, reps = {}, {}
        for name in names:
            slow = name in SLOW and max(d_s, d_t) > 1024
            reps[name] = args.slow_repeats if slow else args.repeats
            if reps[name] > 0:
                torch.manual_seed(0)
                projs[name] = build_projector(name, d_s, d_t).to(device)
                if not slow:  # a warm-up is noise next to a tens-of-seconds step
                    _fwd_bwd(projs[name], x)
        times = {k: [] for k in projs}
        for r in range(max(reps.values())):
            for name, proj in projs.items():
                if r >= reps[name]:
                    continue
                t0 = CLOCK[0]()
                _fwd_bwd(proj, x)
                if device.type == 'cuda':
                    torch.cuda.synchronize()
                times[name].append(CLOCK[0]() - t0)
        base = statistics.median(times['linear'])
        for name in names:
            if name not in projs:
                rows.append((shape, name, None, None, None))
                continue
            t = statistics.median(times[name])
            mem = peak_memory(projs[name], x, device) if t < 5 else None
            rows.append((shape, name, t, mem, t / base))
            ratios[f'{shape}/{name}'] = round(t / base, 3)
            print(
                f'  {shape:>14} {name:>18}: {t * 1e3:9.2f} ms  {t / base:8.2f}x',
                file=sys.stderr,
                flush=True)
    return rows, ratios


def build_step_models(device, img_size):
    import timm
    from mmpretrain.registry import MODELS
    student = MODELS.build(
        dict(
            type='DistilledVisionTransformer',
            arch='deit-tiny',
            img_size=img_size,
            patch_size=16,
            out_type='raw')).to(device)
    teacher = timm.create_model(
        'regnety_160', pretrained=False, num_classes=1000).to(device).eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    heads = nn.ModuleDict(dict(cls=nn.Linear(192, 1000), dist=nn.Linear(192,
                                                                        1000))).to(device)
    return student, teacher, heads


def distill_step_factory(student, teacher, heads, projector, device, label=None):
    """One DeiT-tiny <- RegNetY-160 step (CE + KL + VKD, backward, AdamW); its parts run
    under labels (``teacher``, ``student``, ``projector``, ``loss``, ``backward``,
    ``optimizer``): ``label(name)``, a context manager, by default ``record_function``,
    which :func:`profile_steps` reads; ``--step-parts`` passes a :class:`PartClock` (a
    label costs microseconds, the same in both arms)."""
    from torch.profiler import record_function as profiler_label
    record_function = label or profiler_label

    from mmkd_ext.models.connectors import FeatureStandardizer
    from mmkd_ext.models.losses import VKDLoss
    norm, vkd = FeatureStandardizer('sample'), VKDLoss()
    params = list(student.parameters()) + list(heads.parameters()) + \
        list(projector.parameters())
    opt = torch.optim.AdamW(params, lr=5e-4, weight_decay=0.05)

    def step(x, y):
        with record_function('step'):
            opt.zero_grad(set_to_none=True)
            with record_function('teacher'), torch.no_grad():
                t_feat = teacher.forward_head(
                    teacher.forward_features(x), pre_logits=True)
                t_logits = teacher.get_classifier()(t_feat)
            with record_function('student'):
                tokens = student(x)[-1]  # (N, 2 + HW, 192) after the final norm
                cls_logits = heads['cls'](tokens[:, 0])
                dist_logits = heads['dist'](tokens[:, 1])
                s_feat = tokens[:, 2:].mean(dim=1)
            with record_function('projector'):
                s_proj = projector(s_feat)
            with record_function('loss'):
                loss = nn.functional.cross_entropy(cls_logits, y) + \
                    nn.functional.kl_div(
                        dist_logits.log_softmax(-1),
                        t_logits.log_softmax(-1),
                        log_target=True,
                        reduction='batchmean') + vkd(s_proj, norm(t_feat))
            with record_function('backward'):
                loss.backward()
            with record_function('optimizer'):
                opt.step()
            if device.type == 'cuda':
                torch.cuda.synchronize()

    return step


def _median_ci(ratios, confidence=0.95):
    """Distribution-free CI of the median (binomial order statistics, as
    ``study.interleaved_ratio``); (None, None) below 6 values at 95 %."""
    from scipy import stats
    r, n = sorted(ratios), len(ratios)
    k = int(stats.binom.ppf((1 - confidence) / 2, n, 0.5)) if n >= 2 else 0
    return (r[k - 1], r[n - k]) if k >= 1 else (None, None)


def paired_ratio(fn_a, fn_b, repeats, clock, ci_target=None, max_pairs=200):
    """``study.interleaved_ratio`` over ``repeats`` pairs (ABBA, one warm-up pair);
    with ``ci_target`` (relative half-width of the 95 % CI, e.g. 0.005) further pairs,
    two at a time, until the CI is that narrow or ``max_pairs`` pairs ran (the
    half-width reached is reported either way)."""
    from study import interleaved_ratio
    res = interleaved_ratio(fn_a, fn_b, repeats=repeats, warmup=1, clock=clock)
    ratios, ta, tb = list(res['ratios']), [res['median_a']], [res['median_b']]
    while ci_target is not None and len(ratios) < max_pairs:
        lo, hi = _median_ci(ratios)
        if lo is not None and (hi - lo) / 2 / statistics.median(ratios) <= ci_target:
            break
        more = interleaved_ratio(fn_a, fn_b, repeats=2, warmup=0, clock=clock)
        ratios += more['ratios']
        ta.append(more['median_a'])
        tb.append(more['median_b'])
        lo, hi = _median_ci(ratios)
        med = statistics.median(ratios)
        print(
            f'    {len(ratios)} pairs: median {med:.4f}, 95 % CI {lo:.4f} .. {hi:.4f} '
            f'(half-width {100 * (hi - lo) / 2 / med:.2f} %)',
            file=sys.stderr,
            flush=True)
    lo, hi = _median_ci(ratios)
    med = statistics.median(ratios)
    return dict(
        ratio=med,
        ci_low=lo,
        ci_high=hi,
        halfwidth=None if lo is None else (hi - lo) / 2 / med,
        n=len(ratios),
        median_a=statistics.median(ta),
        median_b=statistics.median(tb))


def step_setup(args, device):
    """Models, one step function per projector (``linear`` first), and a batch."""
    student, teacher, heads = build_step_models(device, args.step_img_size)
    projs = {'linear': nn.Linear(192, 3024, bias=False).to(device)}
    if getattr(args, 'step_aa', False):
        projs[AA] = nn.Linear(192, 3024, bias=False).to(device)
    for name in args.step_maps:
        projs[name] = build_projector(name, 192, 3024).to(device)
    clock = getattr(args, 'part_clock', None)
    steps = {
        k: distill_step_factory(student, teacher, heads, p, device, label=clock)
        for k, p in projs.items()
    }
    if clock is not None:
        steps = {k: clock.tag(k, fn) for k, fn in steps.items()}
    g = torch.Generator().manual_seed(0)
    x = torch.randn(
        args.step_batch, 3, args.step_img_size, args.step_img_size,
        generator=g).to(device)
    y = torch.randint(0, 1000, (args.step_batch, ), generator=g).to(device)
    return steps, x, y


def step_table(args, device, setup=None):
    """Direct measurement: full distillation steps with the linear and with each
    orthogonal projector, interleaved (ABBA) in the same process on the same inputs;
    the median of the per-repeat time ratios and its distribution-free 95 % CI."""
    steps, x, y = setup or step_setup(args, device)
    rows, ratios = [], {}
    clock = getattr(args, 'part_clock', None)
    for k in ([AA] if getattr(args, 'step_aa', False) else []) + list(args.step_maps):
        if clock is not None:
            clock.reset()
        res = paired_ratio(
            lambda: steps['linear'](x, y),
            lambda: steps[k](x, y),
            repeats=args.step_repeats,
            clock=CLOCK[0],
            ci_target=args.step_ci_target,
            max_pairs=args.step_max_pairs)
        hw = 'n/a' if res['halfwidth'] is None else f'{100 * res["halfwidth"]:.2f} %'
        print(
            f'  step {k} / linear: median {res["ratio"]:.4f} over {res["n"]} '
            f'interleaved pairs, 95 % CI {res["ci_low"]} .. {res["ci_high"]} '
            f'(half-width {hw})',
            file=sys.stderr,
            flush=True)
        if not rows:
            rows.append(
                (f'step b{args.step_batch}', 'linear', res['median_a'], None, 1.0))
        ci = 'no CI (< 6 pairs)' if res['ci_low'] is None else \
            f'95 % CI {res["ci_low"]:.4f}-{res["ci_high"]:.4f}x, half-width {hw}'
        rows.append((f'step b{args.step_batch}', f'{k} (median of {res["n"]} pair '
                     f'ratios, {ci})', res['median_b'], None, res['ratio']))
        ratios[f'step/{k}'] = round(res['ratio'], 4)
        ratios[f'step/{k}_ci95'] = [
            None if v is None else round(v, 4) for v in (res['ci_low'], res['ci_high'])
        ]
        ratios[f'step/{k}_halfwidth'] = None if res['halfwidth'] is None else round(
            res['halfwidth'], 5)
        ratios[f'step/{k}_pairs'] = res['n']
        if clock is not None:
            ratios[f'step/{k}_parts'] = clock.report('linear', k)
    return rows, ratios


#: the A/A control arm of ``--step-aa``: a second, identical linear step
AA = 'linear_aa'


class PartClock:
    """``--step-parts``: a label for :func:`distill_step_factory` that records, per arm
    and labelled part of every step, the process CPU time and the minor page faults
    (``getrusage``); :meth:`report` prints the median paired difference of each part
    between two arms, i.e. where a difference of whole steps goes."""

    def __init__(self):
        self.arm, self.rec = None, {}

    def reset(self):
        self.rec = {}

    def tag(self, arm, fn):
        """``fn`` recording under ``arm``."""

        def tagged(*a):
            self.arm = arm
            return fn(*a)

        return tagged

    @contextlib.contextmanager
    def __call__(self, name):
        t0, f0 = time.process_time(), resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        try:
            yield
        finally:
            dt = time.process_time() - t0
            df = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0
            self.rec.setdefault((self.arm, name), []).append((dt, df))

    def report(self, a, b):
        """Per part: medians of ``a`` and ``b`` (ms), the median of the paired
        differences ``b - a`` (ms) and the median minor faults per step; the first
        (warm-up) step of each arm is left out. Printed and returned."""
        out = {}
        print(
            f'  parts of the step, {b} vs {a} (process CPU ms, median over pairs):',
            file=sys.stderr)
        print(
            f'  | part | {a} | {b} | {b} - {a} (median paired diff) | minor faults '
            f'{a} / {b} |',
            file=sys.stderr)
        for part in ('step', ) + STEP_LABELS:
            ra, rb = self.rec.get((a, part), [])[1:], self.rec.get((b, part), [])[1:]
            n = min(len(ra), len(rb))
            if not n:
                continue
            ta, tb = [1e3 * r[0] for r in ra[:n]], [1e3 * r[0] for r in rb[:n]]
            diff = statistics.median(q - p for p, q in zip(ta, tb))
            fa = statistics.median(r[1] for r in ra[:n])
            fb = statistics.median(r[1] for r in rb[:n])
            out[part] = dict(
                a_ms=round(statistics.median(ta), 2),
                b_ms=round(statistics.median(tb), 2),
                diff_ms=round(diff, 2),
                faults=[fa, fb])
            print(
                f'  | {part} | {out[part]["a_ms"]:.2f} | {out[part]["b_ms"]:.2f} | '
                f'{diff:+.2f} | {fa:.0f} / {fb:.0f} |',
                file=sys.stderr,
                flush=True)
        return out


STEP_LABELS = ('teacher', 'student', 'projector', 'loss', 'backward', 'optimizer')
_EVAL_FN = 'autograd::engine::evaluate_function: '


def _descendants(event):
    todo, out = list(event.cpu_children), []
    while todo:
        e = todo.pop()
        out.append(e)
        todo.extend(e.cpu_children)
    return out


def projector_breakdown(events):
    """From the events of one profiled step (``torch.profiler``, CPU): milliseconds of
    the step, of each labelled part, and of the projector's map (``projector.map``),
    forward (``projector``, map included) and backward: the autograd nodes created by
    the ops under ``projector`` (matched by sequence number), each with what it runs
    (gradient accumulation into the parameter included; the parameter's
    AccumulateGrad itself, microseconds, is not matched). Also the projector's ops by
    self CPU time (forward and its backward nodes), largest first."""
    top = {}
    for e in events:
        if e.name in ('step', 'projector.map') + STEP_LABELS:
            top.setdefault(e.name, []).append(e)
    out = {k: sum(e.cpu_time_total for e in v) / 1e3 for k, v in top.items()}
    fwd_ops = [d for e in top.get('projector', []) for d in _descendants(e)]
    seq = {d.sequence_nr for d in fwd_ops if d.sequence_nr >= 0}
    bwd = [e for e in events if e.name.startswith(_EVAL_FN) and e.sequence_nr in seq]
    out['projector.backward'] = sum(e.cpu_time_total for e in bwd) / 1e3
    ops = {}
    for e in fwd_ops + [d for b in bwd for d in [b] + _descendants(b)]:
        name = e.name.replace(_EVAL_FN, 'backward: ')
        ops[name] = ops.get(name, 0.0) + e.self_cpu_time_total / 1e3
    out['projector_ops'] = dict(sorted(ops.items(), key=lambda kv: -kv[1]))
    return out


def profile_steps(args, device, setup=None):
    """``--profile``: one step per projector under torch.profiler (after a warm-up
    step), the projector's map / forward / backward in ms and % of the step."""
    from torch.profiler import ProfilerActivity, profile, record_function

    from mmkd_ext.models.utils import orthogonal
    steps, x, y = setup or step_setup(args, device)
    gram_factor = orthogonal.gram_factor

    def labelled_map(*a, **kw):
        with record_function('projector.map'):
            return gram_factor(*a, **kw)

    result = {}
    orthogonal.gram_factor = labelled_map  # read by gram_linear at call time
    try:
        for name, step in steps.items():
            step(x, y)  # warm-up
            with profile(activities=[ProfilerActivity.CPU]) as prof:
                step(x, y)
            result[name] = projector_breakdown(prof.events())
            if args.profile_table:
                print(f'-- {name}: top operators of one step (self CPU)\n' +
                      prof.key_averages().table(
                          sort_by='self_cpu_time_total', row_limit=15))
    finally:
        orthogonal.gram_factor = gram_factor
    print(f'profile of one step (CPU ms, {torch.get_num_threads()} threads; '
          'torch.profiler, labelled parts):')
    print('| projector | step | teacher | student | projector map | projector '
          'forward (map incl.) | projector backward | projector fwd+bwd % of step |')
    print('|---|---|---|---|---|---|---|---|')
    for name, r in result.items():
        share = 100 * (r.get('projector', 0) + r['projector.backward']) / r['step']
        print(f'| {name} | {r["step"]:.1f} | {r.get("teacher", 0):.1f} | '
              f'{r.get("student", 0):.1f} | {r.get("projector.map", 0):.2f} | '
              f'{r.get("projector", 0):.2f} | {r["projector.backward"]:.2f} | '
              f'{share:.3f} % |')
        r['projector_share'] = share
    for name, r in result.items():
        top = list(r['projector_ops'].items())[:10]
        print(f'{name}: projector ops (self CPU ms): ' + ', '.join(f'{k} {v:.2f}'
                                                                   for k, v in top))
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--shapes', nargs='+', default=DEFAULT_SHAPES, help='NxD_SxD_T entries')
    parser.add_argument('--maps', nargs='+', default=OURS + TORCH)
    parser.add_argument('--repeats', type=int, default=20)
    parser.add_argument(
        '--slow-repeats',
        type=int,
        default=1,
        help='repeats of the max(d)^3 maps at d > 1024 (0 skips them)')
    parser.add_argument(
        '--step',
        action='store_true',
        help='also time the full DeiT-tiny / RegNetY-160 step')
    parser.add_argument('--step-maps', nargs='+', default=['cholesky_qr'])
    parser.add_argument('--step-batch', type=int, default=32)
    parser.add_argument('--step-img-size', type=int, default=224)
    parser.add_argument(
        '--step-repeats',
        type=int,
        default=11,
        help='interleaved pairs of full steps (>= 6 for a 95 %% CI)')
    parser.add_argument(
        '--step-ci-target',
        type=float,
        default=None,
        help='after --step-repeats pairs, add pairs until the 95 %% CI of the step '
        'ratio has this relative half-width (e.g. 0.005) or --step-max-pairs ran')
    parser.add_argument('--step-max-pairs', type=int, default=120)
    parser.add_argument(
        '--step-aa',
        action='store_true',
        help='first an A/A control: the linear step against a second, identical linear '
        'step, with the same pairs and stop rule (its CI should contain 1)')
    parser.add_argument(
        '--step-parts',
        action='store_true',
        help='record the process CPU time and minor page faults of every labelled part '
        'of every timed step and print their median paired differences')
    parser.add_argument(
        '--heap',
        choices=['hold', 'default'],
        default='hold',
        help='hold (default): keep freed memory in the process (glibc mallopt: no mmap, '
        'no trim; study.hold_heap), so steps do not page-fault their temporaries '
        'afresh; default: the C library as it comes')
    parser.add_argument(
        '--profile',
        action='store_true',
        help='profile one full step per projector (torch.profiler, CPU): the '
        "projector's map / forward / backward and their share of the step")
    parser.add_argument(
        '--profile-table',
        action='store_true',
        help='with --profile: also print the top operators of each step')
    parser.add_argument(
        '--no-table',
        action='store_true',
        help='skip the projector micro-benchmark (only --step / --profile)')
    parser.add_argument(
        '--quick',
        action='store_true',
        help='5 repeats, first shape, no max(d)^3 map at d > 1024')
    parser.add_argument('--threads', type=int, default=None)
    parser.add_argument(
        '--clock',
        choices=['wall', 'cpu'],
        default='wall',
        help='cpu: process CPU time (shared machines; with --threads 1)')
    parser.add_argument(
        '--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats, args.slow_repeats, args.shapes = 5, 0, args.shapes[:1]
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.clock == 'cpu':
        CLOCK[0] = time.process_time
    if args.heap == 'hold':
        from study import hold_heap
        if not hold_heap():
            print(
                '--heap hold: mallopt is not available here; the C library runs as '
                'it comes',
                file=sys.stderr)
            args.heap = 'default'
    if args.step_parts and args.profile:
        parser.error('--step-parts times the labelled parts itself; run --profile '
                     'separately')
    args.part_clock = PartClock() if args.step_parts else None
    import mmkd_ext  # noqa: F401
    device = torch.device(args.device)
    rows, ratios = ([], {}) if args.no_table else projector_table(args, device)
    setup = step_setup(args, device) if args.step or args.profile else None
    profiled = profile_steps(args, device, setup) if args.profile else None
    if args.step:
        srows, sratios = step_table(args, device, setup)
        rows += srows
        ratios.update(sratios)
    mem_col = 'peak MiB' if device.type == 'cuda' else 'saved+params MiB'
    print(f'device: {device} ({torch.get_num_threads()} threads, {args.clock} clock, '
          f'heap {args.heap}); ratios measured on this device only')
    print(f'| shape (N x d_s x d_t) | projector | time (ms) | {mem_col} | vs Linear |')
    print('|---|---|---|---|---|')
    for shape, name, t, mem, r in rows:
        if t is None:
            print(f'| {shape} | {name} | skipped | | |')
            continue
        m = f'{mem / 2**20:.1f}' if mem is not None else ''
        print(f'| {shape} | {name} | {t * 1e3:.2f} | {m} | {r:.2f}x |')
    print('RESULT ' + json.dumps(
        dict(
            device=str(device),
            threads=torch.get_num_threads(),
            clock=args.clock,
            heap=args.heap,
            ratio_to_linear=ratios,
            profile=None if profiled is None else {
                k: {
                    p: round(v, 3)
                    for p, v in r.items() if p != 'projector_ops'
                }
                for k, r in profiled.items()
            })))


if __name__ == '__main__':
    main()
