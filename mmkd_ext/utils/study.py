"""Paired multi-seed studies: the statistics, the results file, the progress line and
the plot shared by ``tools/benchmark/digits_{kd,gan,det}.py``.

Design (docs/studies.md): seed ``s`` fixes the student's initialisation, data order
and augmentation for every method (``RNGStateHook``), so two methods run with the same
seed differ only by the distillation. A method is then compared with a reference
(the student alone, logit KD) through the **paired differences**
``d_s = metric(method, s) - metric(reference, s)`` over the seeds both have finished:

* mean difference and its 95 % confidence interval from the t distribution,
  ``mean(d) +- t_{0.975, n-1} * sd(d) / sqrt(n)`` (sd with ``ddof=1``);
* the paired t-test p-value (``scipy.stats.ttest_rel``, two-sided), and from 10 seeds
  on also the Wilcoxon signed-rank p-value (``scipy.stats.wilcoxon``, two-sided),
  which is then the reported ``p``: it does not assume normal differences.

Per method the table shows ``mean +- sample sd`` (``ddof=1``).

Results are appended to a JSONL file, one line per finished run (method, seed, the
study's settings, metrics, seconds); a restarted study reads it back and skips every
run whose method, seed and settings are already there.
"""
import json
import math
import os
import os.path as osp
import time
from typing import Dict, Iterable, List, Optional, Sequence

import numpy as np


# ------------------------------------------------------------------ statistics
def mean_sd(values: Sequence[float]):
    """``(mean, sample sd, n)``; sd is ``nan`` for fewer than 2 values."""
    v = np.asarray(list(values), dtype=float)
    if v.size == 0:
        return float('nan'), float('nan'), 0
    sd = float(v.std(ddof=1)) if v.size > 1 else float('nan')
    return float(v.mean()), sd, int(v.size)


def paired_difference(method: Sequence[float],
                      reference: Sequence[float],
                      confidence: float = 0.95,
                      wilcoxon_from: int = 10) -> dict:
    """Paired comparison of two equally long, seed-aligned lists.

    Returns ``dict(n, mean, sd, ci_low, ci_high, p_t, p_wilcoxon, p, test)`` for
    ``d = method - reference``: ``p`` is the Wilcoxon signed-rank p-value when
    ``n >= wilcoxon_from`` and the paired t-test's otherwise (``test`` names it).
    With ``n < 2`` the interval and p-values are ``None``. All differences equal:
    the interval is that value; the t-test p is 1 when it is 0, else 0 (an exact,
    zero-variance difference); Wilcoxon gives 1 for all-zero differences.
    """
    a = np.asarray(list(method), dtype=float)
    b = np.asarray(list(reference), dtype=float)
    if a.shape != b.shape:
        raise ValueError(f'paired_difference needs seed-aligned lists of equal '
                         f'length, got {a.size} and {b.size}')
    d = a - b
    n = int(d.size)
    out = dict(
        n=n,
        mean=float(d.mean()) if n else float('nan'),
        sd=float(d.std(ddof=1)) if n > 1 else float('nan'),
        ci_low=None,
        ci_high=None,
        p_t=None,
        p_wilcoxon=None,
        p=None,
        test=None)
    if n < 2:
        return out
    from scipy import stats
    sd = out['sd']
    if sd == 0:
        out.update(
            ci_low=out['mean'], ci_high=out['mean'], p_t=1.0 if out['mean'] == 0 else 0.0)
    else:
        half = stats.t.ppf(0.5 + confidence / 2, n - 1) * sd / math.sqrt(n)
        out.update(
            ci_low=out['mean'] - half,
            ci_high=out['mean'] + half,
            p_t=float(stats.ttest_rel(a, b).pvalue))
    out['p'], out['test'] = out['p_t'], 'paired t'
    if n >= wilcoxon_from:
        if np.all(d == 0):
            pw = 1.0
        else:
            pw = float(stats.wilcoxon(a, b, alternative='two-sided').pvalue)
        out.update(p_wilcoxon=pw, p=pw, test='Wilcoxon')
    return out


def paired_report(values: Dict[str, Dict[int, float]], references: Iterable[str]) -> dict:
    """Per-method summary and paired differences to each reference method.

    ``values[method][seed] = metric``. Returns
    ``dict(methods={m: dict(mean, sd, n, seeds)},
    differences={ref: {m: paired_difference(...) + seeds}})``; a difference uses the
    seeds that both the method and the reference have finished. A reference is not
    compared again with the references before it (its mirror image is there).
    """
    references = list(references)
    report = dict(methods={}, differences={})
    for m, by_seed in values.items():
        mean, sd, n = mean_sd(by_seed.values())
        report['methods'][m] = dict(mean=mean, sd=sd, n=n, seeds=sorted(by_seed))
    for i, ref in enumerate(references):
        if ref not in values:
            continue
        diffs = {}
        for m, by_seed in values.items():
            if m == ref or m in references[:i]:
                continue
            seeds = sorted(set(by_seed) & set(values[ref]))
            res = paired_difference([by_seed[s] for s in seeds],
                                    [values[ref][s] for s in seeds])
            res['seeds'] = seeds
            diffs[m] = res
        report['differences'][ref] = diffs
    return _no_nan(report)


def _no_nan(obj):
    """NaN (e.g. the sd of one seed) -> None, so reports are strict JSON."""
    if isinstance(obj, dict):
        return {k: _no_nan(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_no_nan(v) for v in obj]
    if isinstance(obj, float) and math.isnan(obj):
        return None
    return obj


def _fmt(v, digits):
    return '-' if v is None or (isinstance(v, float) and math.isnan(v)) \
        else f'{v:.{digits}f}'


def _fmt_p(p):
    if p is None:
        return '-'
    return '< 0.001' if p < 1e-3 else f'{p:.3f}'


def markdown_tables(report: dict,
                    labels: Dict[str, str],
                    metric: str,
                    digits: int = 2,
                    extra: Optional[Dict[str, Dict[str, str]]] = None) -> str:
    """The per-method table (``mean +- sd``) and one paired-difference table per
    reference, as markdown. ``extra[method][column] = text`` adds columns."""
    extra = extra or {}
    cols = list(dict.fromkeys(c for row in extra.values() for c in row))
    lines = [
        f'| method | {metric} (mean +- sd) | seeds |' + ''.join(f' {c} |' for c in cols),
        '|---|---|---|' + '---|' * len(cols)
    ]
    for m, r in report['methods'].items():
        lines.append(f'| {labels.get(m, m)} | {_fmt(r["mean"], digits)} +- '
                     f'{_fmt(r["sd"], digits)} | {r["n"]} |' +
                     ''.join(f' {extra.get(m, {}).get(c, "")} |' for c in cols))
    for ref, diffs in report['differences'].items():
        if not diffs:
            continue
        lines += [
            '', f'Paired difference to **{labels.get(ref, ref)}** '
            f'(method - reference, same seeds):', '',
            '| method | mean diff | 95 % CI | p | test | n |', '|---|---|---|---|---|---|'
        ]
        for m, d in diffs.items():
            ci = '-' if d['ci_low'] is None else \
                f'[{_fmt(d["ci_low"], digits)}, {_fmt(d["ci_high"], digits)}]'
            lines.append(f'| {labels.get(m, m)} | {_fmt(d["mean"], digits)} | {ci} | '
                         f'{_fmt_p(d["p"])} | {d["test"] or "-"} | {d["n"]} |')
    return '\n'.join(lines)


# ------------------------------------------------------------------ results file
class ResultsFile:
    """Append-only JSONL of finished runs; resume skips runs already recorded.

    Each line: ``dict(method, seed, settings, metrics, seconds, ...)``. Only lines
    whose ``settings`` equal this study's count as done, so changing e.g. the number
    of epochs in the same ``--out`` starts those runs afresh instead of mixing them.
    """

    def __init__(self, path: str, settings: dict):
        self.path = path
        self.settings = json.loads(json.dumps(settings))  # plain JSON types
        self.records: List[dict] = []
        if osp.isfile(path):
            with open(path) as f:
                for i, line in enumerate(f):
                    line = line.strip()
                    if not line:
                        continue
                    try:
                        rec = json.loads(line)
                    except json.JSONDecodeError:
                        # a run killed while writing its line: ignore that line
                        continue
                    if rec.get('settings') == self.settings:
                        self.records.append(rec)

    def done(self, method: str, seed: int) -> Optional[dict]:
        for rec in self.records:
            if rec['method'] == method and rec['seed'] == seed:
                return rec
        return None

    def append(self, method: str, seed: int, metrics: dict, seconds: float,
               **extra) -> dict:
        rec = dict(
            method=method,
            seed=seed,
            settings=self.settings,
            metrics=metrics,
            seconds=round(float(seconds), 2),
            **extra)
        os.makedirs(osp.dirname(osp.abspath(self.path)), exist_ok=True)
        with open(self.path, 'a') as f:
            f.write(json.dumps(rec) + '\n')
            f.flush()
            os.fsync(f.fileno())
        self.records.append(rec)
        return rec

    def values(self, key: str, methods: Iterable[str]) -> Dict[str, Dict[int, float]]:
        """``{method: {seed: metrics[key]}}`` of the recorded runs."""
        out = {m: {} for m in methods}
        for rec in self.records:
            if rec['method'] in out and key in rec['metrics']:
                out[rec['method']][rec['seed']] = float(rec['metrics'][key])
        return out


# ------------------------------------------------------------------ progress
def _hms(seconds: float) -> str:
    seconds = int(round(max(seconds, 0)))
    return f'{seconds // 3600:d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}'


class Progress:
    """One line per run: ``[k/N] name seed s: result (t s) | elapsed, ETA``.

    The ETA is the mean time of the runs trained in this process (resumed runs cost
    nothing) times the runs left, divided by the number of runs trained at once.
    """

    def __init__(self, total: int, already_done: int = 0, jobs: int = 1):
        self.total, self.done, self.jobs = total, already_done, max(1, jobs)
        self.start = time.perf_counter()
        self.trained_seconds, self.trained = 0.0, 0

    def line(self,
             name: str,
             seed: int,
             result: str,
             seconds: float,
             resumed: bool = False) -> str:
        self.done += 1
        if not resumed:
            self.trained_seconds += seconds
            self.trained += 1
        left = self.total - self.done
        per_run = self.trained_seconds / self.trained if self.trained else 0.0
        eta = _hms(per_run * left / self.jobs) if self.trained else '?'
        tag = 'resumed' if resumed else f'{seconds:.1f} s'
        return (f'[{self.done}/{self.total}] {name} seed {seed}: {result} ({tag}) | '
                f'elapsed {_hms(time.perf_counter() - self.start)}, ETA {eta}')


# ------------------------------------------------------------------ plot
def plot_paired(report: dict,
                labels: Dict[str, str],
                path: str,
                title: str,
                metric: str,
                higher_is_better: bool = True) -> str:
    """One panel per reference: each method's mean paired difference with its 95 %
    CI (t-based) as a horizontal error bar, the p-value written next to it."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    refs = [r for r, d in report['differences'].items() if d]
    if not refs:
        raise ValueError('plot_paired: no paired differences to plot (run the '
                         'reference method and at least one other method)')
    n_rows = max(len(d) for d in report['differences'].values())
    fig, axes = plt.subplots(
        1, len(refs), figsize=(5.2 * len(refs), 0.55 * n_rows + 1.6), squeeze=False)
    for ax, ref in zip(axes[0], refs):
        diffs = report['differences'][ref]
        names = list(diffs)
        ys = np.arange(len(names))[::-1]
        for y, m in zip(ys, names):
            d = diffs[m]
            if d['ci_low'] is None:
                ax.plot(d['mean'], y, 'o', color='grey')
                continue
            good = (d['mean'] > 0) == higher_is_better
            sig = d['p'] is not None and d['p'] < 0.05
            color = ('tab:green' if good else 'tab:red') if sig else 'tab:blue'
            ax.errorbar(
                d['mean'],
                y,
                xerr=[[d['mean'] - d['ci_low']], [d['ci_high'] - d['mean']]],
                fmt='o',
                color=color,
                capsize=4)
            ax.annotate(
                f'p={_fmt_p(d["p"])}', (d['ci_high'], y),
                xytext=(4, 3),
                textcoords='offset points',
                fontsize=7)
        ax.axvline(0, color='k', lw=0.8)
        ax.set_yticks(ys)
        ax.set_yticklabels([labels.get(m, m) for m in names], fontsize=8)
        n = max((d['n'] for d in diffs.values()), default=0)
        ax.set_xlabel(f'{metric}: method - {labels.get(ref, ref)}')
        ax.set_title(f'vs {labels.get(ref, ref)} ({n} paired seeds, 95 % CI)', fontsize=9)
        ax.margins(x=0.25)
    fig.suptitle(
        title + '\ngreen / red: significantly better / worse (p < 0.05), '
        'blue: not significant',
        fontsize=9)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# ------------------------------------------------------------------ timing
def interleaved_ratio(fn_a,
                      fn_b,
                      repeats: int,
                      warmup: int = 1,
                      clock=None,
                      confidence: float = 0.95) -> dict:
    """Direct cost ratio ``time(b) / time(a)`` of two full steps, interleaved.

    Each repeat times ``a`` and ``b`` back to back, alternating which goes first
    (ABBA...), so slow drifts of the machine hit both; the per-repeat ratios are
    summarised by their median with a distribution-free confidence interval for the
    median (order statistics of the binomial(n, 1/2), ``n >= 6`` for 95 %).
    Returns ``dict(ratio, ci_low, ci_high, n, median_a, median_b, ratios)``.
    """
    from scipy import stats
    clock = clock or time.perf_counter
    for _ in range(warmup):
        fn_a()
        fn_b()
    ta, tb = [], []
    for i in range(repeats):
        order = ((fn_a, ta), (fn_b, tb)) if i % 2 == 0 else ((fn_b, tb), (fn_a, ta))
        for fn, times in order:
            t0 = clock()
            fn()
            times.append(clock() - t0)
    ratios = sorted(b / a for a, b in zip(ta, tb))
    n = len(ratios)
    lo = hi = None
    if n >= 2:
        # largest k with P(Binom(n, .5) < k) <= alpha/2: [r_(k), r_(n-k+1)]
        alpha = 1 - confidence
        k = int(stats.binom.ppf(alpha / 2, n, 0.5))
        if k >= 1:
            lo, hi = ratios[k - 1], ratios[n - k]
    return dict(
        ratio=float(np.median(ratios)),
        ci_low=lo,
        ci_high=hi,
        n=n,
        median_a=float(np.median(ta)),
        median_b=float(np.median(tb)),
        ratios=[round(r, 5) for r in ratios])


# ------------------------------------------------------------------ running configs
def _set_schedule_length(cfg, length: int, by_epoch: bool):
    """Put ``length`` (epochs or iterations) into every scheduler that spans the
    whole run (``T_max`` / ``end`` equal to the configured length)."""
    old = cfg.train_cfg.get('max_epochs' if by_epoch else 'max_iters')
    scheds = cfg.get('param_scheduler')
    if scheds is None:
        return
    for s in (scheds if isinstance(scheds, (list, tuple)) else [scheds]):
        if s.get('by_epoch', True) != by_epoch:
            continue
        for key in ('T_max', 'end'):
            if key in s and (old is None or s[key] == old or s[key] > length):
                s[key] = length


def apply_overrides(cfg,
                    work_dir: str,
                    seed: int,
                    epochs: Optional[int] = None,
                    iters: Optional[int] = None,
                    data_fraction: Optional[float] = None,
                    teacher_ckpt: Optional[str] = None):
    """The only changes a study makes to a shipped config: the seed, the paths, the
    budget (epochs or iterations, with the schedulers that span the run, one
    validation and one checkpoint at the end) and, if given, the fraction of the
    training split (``train_dataloader.dataset.subset_ratio``, subset chosen by
    ``subset_seed = seed``). Returns ``cfg`` (an mmengine ``Config``, edited in place).
    """
    cfg.work_dir = work_dir
    randomness = dict(cfg.get('randomness') or {})
    randomness['seed'] = int(seed)
    randomness.setdefault('deterministic', False)
    cfg.randomness = randomness
    if epochs is not None and iters is not None:
        raise ValueError('apply_overrides: give epochs or iters, not both')
    if epochs is not None:
        if 'max_epochs' not in cfg.train_cfg:
            raise ValueError(f'train_cfg has no max_epochs (an iteration-based '
                             f'config?): use iters, got epochs={epochs}')
        _set_schedule_length(cfg, epochs, by_epoch=True)
        cfg.train_cfg.max_epochs = epochs
        cfg.train_cfg.val_interval = epochs
        length = epochs
    elif iters is not None:
        if 'max_iters' not in cfg.train_cfg:
            raise ValueError(f'train_cfg has no max_iters (an epoch-based config?): '
                             f'use epochs, got iters={iters}')
        _set_schedule_length(cfg, iters, by_epoch=False)
        cfg.train_cfg.max_iters = iters
        cfg.train_cfg.val_interval = iters
        length = iters
    else:
        length = cfg.train_cfg.get('max_epochs', cfg.train_cfg.get('max_iters'))
        cfg.train_cfg.val_interval = length
    ckpt = cfg.default_hooks.get('checkpoint')
    if ckpt is not None:
        ckpt.interval = length
        ckpt.max_keep_ckpts = 1
        ckpt.pop('save_best', None)
    for hook in cfg.get('custom_hooks', []) or []:
        if 'interval' in hook and hook['type'].endswith('SampleGridHook'):
            hook['interval'] = length
    if data_fraction is not None:
        ds = cfg.train_dataloader.dataset
        if 'subset_ratio' not in ds and ds.get(
                'type', '').split('.')[-1] not in ('DigitsDataset', 'DigitsGANDataset'):
            raise ValueError(f'train_dataloader.dataset ({ds.get("type")}) has no '
                             f'subset_ratio: a data fraction needs a dataset that '
                             f'supports it')
        ds.subset_ratio = float(data_fraction)
        ds.subset_seed = int(seed)
    if teacher_ckpt is not None:
        if 'teacher_ckpt' not in cfg.model:
            raise ValueError('model.teacher_ckpt is missing: the config is not a '
                             'single-teacher distillation config')
        cfg.model.teacher_ckpt = teacher_ckpt
    cfg.log_level = 'WARNING'
    return cfg


def paired_streams_configured(config: str) -> bool:
    """Whether ``config`` re-seeds before weight init and training (an
    ``RNGStateHook`` with ``paired_streams`` on in ``default_hooks``), which makes runs
    with the same seed paired across methods (docs/studies.md)."""
    from mmengine.config import Config
    hooks = Config.fromfile(config).get('default_hooks') or {}
    return any(
        isinstance(h, dict) and str(h.get('type', '')).endswith('RNGStateHook')
        and h.get('paired_streams', True) for h in hooks.values())


def unpaired_warning(configs: Dict[str, str]) -> Optional[str]:
    """A warning naming the configs without paired RNG streams, or ``None``."""
    bad = [f'{k} ({c})' for k, c in configs.items() if not paired_streams_configured(c)]
    if not bad:
        return None
    return ('WARNING: not paired: ' + ', '.join(bad) + ' lack(s) '
            "default_hooks.rng_state=dict(type='mmkd_ext.RNGStateHook'); the same "
            'seed then gives the students different initial weights / streams')


def _train_child(config, work_dir, seed, kwargs, cfg_options, threads, out_file):
    """Body of one run (in a forked process): build the runner, train, write the
    last validation metrics to ``out_file``."""
    import torch
    from mmengine.config import Config
    from mmengine.hooks import Hook
    from mmengine.runner import Runner
    if threads:
        torch.set_num_threads(threads)
    import logging

    from mmengine.logging import MMLogger

    class _Quiet(logging.Filter):  # notices repeated by every run

        def filter(self, record):
            msg = record.getMessage()
            return not any(
                s in msg for s in ('will be deprecated', '`save_param_scheduler` is True',
                                   'is skipped since its requires_grad=False'))

    cfg = Config.fromfile(config)
    apply_overrides(cfg, work_dir, seed, **kwargs)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)

    class _Catch(Hook):
        metrics = {}

        def after_val_epoch(self, runner, metrics=None):
            _Catch.metrics = {
                k: float(v)
                for k, v in (metrics or {}).items()
                if isinstance(v, (int, float)) or getattr(v, 'numel', lambda: 0)() == 1
            }

    runner = Runner.from_cfg(cfg)
    for handler in MMLogger.get_current_instance().handlers:
        handler.addFilter(_Quiet())
    runner.register_hook(_Catch(), 'LOWEST')
    t0 = time.perf_counter()
    runner.train()
    train_s = time.perf_counter() - t0
    last = osp.join(work_dir, 'last_checkpoint')
    ckpt = open(last).read().strip() if osp.isfile(last) else None
    with open(out_file, 'w') as f:
        json.dump(dict(metrics=_Catch.metrics, train_seconds=train_s, checkpoint=ckpt), f)


def _prepare(config,
             work_dir,
             seed,
             epochs=None,
             iters=None,
             data_fraction=None,
             teacher_ckpt=None,
             cfg_options=None,
             threads=1):
    if not osp.isfile(config):
        raise FileNotFoundError(
            f'study config {config!r} does not exist (renamed? edit the CONFIGS table '
            f'at the top of the study script)')
    os.makedirs(work_dir, exist_ok=True)
    out_file = osp.join(work_dir, 'study_result.json')
    if osp.isfile(out_file):
        os.remove(out_file)
    kwargs = dict(
        epochs=epochs,
        iters=iters,
        data_fraction=data_fraction,
        teacher_ckpt=teacher_ckpt)
    return (osp.abspath(config), osp.abspath(work_dir), seed, kwargs, cfg_options,
            threads, out_file)


def _collect(args, t0, exitcode=0):
    config, work_dir, seed, out_file = args[0], args[1], args[2], args[-1]
    if exitcode != 0 or not osp.isfile(out_file):
        raise RuntimeError(f'training {config} (seed {seed}) failed with exit code '
                           f'{exitcode}; logs in {work_dir}')
    with open(out_file) as f:
        res = json.load(f)
    res['seconds'] = time.perf_counter() - t0
    return res


def run_config(config: str,
               work_dir: str,
               seed: int,
               *,
               epochs: Optional[int] = None,
               iters: Optional[int] = None,
               data_fraction: Optional[float] = None,
               teacher_ckpt: Optional[str] = None,
               cfg_options: Optional[dict] = None,
               threads: int = 1,
               fork: bool = True) -> dict:
    """Train a shipped config with MMEngine's ``Runner`` (``Config.fromfile`` +
    ``Runner.from_cfg``, as ``tools/train.py``), changed only by
    :func:`apply_overrides`. Each run is a forked child of the study process: the
    libraries are imported once, and no state (registries, prototype banks, RNGs,
    loggers) leaks from one run into the next.

    Returns ``dict(metrics=<last validation metrics>, train_seconds, seconds,
    checkpoint=<last checkpoint or None>)``.
    """
    import multiprocessing as mp
    args = _prepare(config, work_dir, seed, epochs, iters, data_fraction, teacher_ckpt,
                    cfg_options, threads)
    t0 = time.perf_counter()
    if not fork:
        _train_child(*args)
        return _collect(args, t0)
    proc = mp.get_context('fork').Process(target=_train_child, args=args)
    proc.start()
    proc.join()
    return _collect(args, t0, proc.exitcode)


def run_configs(tasks, jobs: int = 1, on_done=None) -> None:
    """Run ``tasks`` (``[(key, run_config keyword arguments incl. config, work_dir,
    seed)]``), at most ``jobs`` forked runs at a time (each with its own
    ``threads``), calling ``on_done(key, result)`` in the parent as each finishes, so
    the caller records every run as soon as it is done. A failed run raises after the
    runs still going have finished (and been recorded)."""
    import multiprocessing as mp
    pending, running, failure = list(tasks), {}, None
    while pending or running:
        while pending and len(running) < max(1, jobs) and failure is None:
            key, kw = pending.pop(0)
            kw = dict(kw)
            args = _prepare(kw.pop('config'), kw.pop('work_dir'), kw.pop('seed'), **kw)
            proc = mp.get_context('fork').Process(target=_train_child, args=args)
            proc.start()
            running[key] = (proc, args, time.perf_counter())
        if failure is not None:
            pending = []
        finished = [k for k, (p, _, _) in running.items() if not p.is_alive()]
        if not finished:
            time.sleep(0.2)
            continue
        for key in finished:
            proc, args, t0 = running.pop(key)
            proc.join()
            try:
                res = _collect(args, t0, proc.exitcode)
            except RuntimeError as err:
                failure = failure or err
                continue
            if on_done is not None:
                on_done(key, res)
    if failure is not None:
        raise failure
