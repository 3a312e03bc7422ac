"""The skeleton of a paired study script (``tools/benchmark/digits_{kd,gan,det}.py``).

A script declares what is its own (the ``CONFIGS`` table, labels, references, the
budget arguments, the header of its report) and leaves the rest to this module::

    STUDY = dict(name='digits_kd', configs=CONFIGS, labels=LABELS,
                 references=('student', 'kd'), metric='accuracy/top1',
                 family=[('kd', 'student'), ('vkd', 'kd')])
    args = study_parser(__doc__, 'digits_kd', METHODS, seeds=10).parse_args(argv)
    study = PairedStudy(args, settings=('epochs', ), **STUDY)
    teacher = study.train_once('teacher', 0, describe=top1)
    study.run(lambda seed, method: dict(epochs=args.epochs, ...), describe=top1)
    report = study.finish(header, 'top-1 (%)', plot_title, 'top-1 (points)')

``run`` trains the seeds x methods grid (``jobs`` forked runs at once), skipping the
runs already in ``<out>/results.jsonl`` and printing a progress line with an ETA per
run; ``finish`` writes ``<out>/report.{md,json}`` and the plot, prints the tables and
a last line ``RESULT <json>``.
"""
import argparse
import json
import os
import os.path as osp
import time
from typing import Callable, Dict, Optional, Sequence, Tuple

from .plot import plot_paired
from .results import Progress, ResultsFile
from .runs import run_config, run_configs, train_command, unpaired_warning
from .stats import markdown_tables, paired_report


def study_parser(description: str,
                 name: str,
                 methods: Sequence[str],
                 default_methods: Optional[Sequence[str]] = None,
                 seeds: int = 5,
                 threads: int = 1,
                 quick_help: str = 'a tiny budget') -> argparse.ArgumentParser:
    """The arguments every study has: ``--seeds --methods --teacher-ckpt --out --plot
    --threads --jobs --show-commands --quick``. ``--plot`` and ``--jobs`` default to
    ``None``, which :class:`PairedStudy` resolves (``docs/studies_<name>.png`` or,
    with ``--quick``, ``<out>/paired.png``; the script's own ``jobs``)."""
    p = argparse.ArgumentParser(description=description.strip().split('\n')[0])
    p.add_argument(
        '--seeds', type=int, default=seeds, help='seeds 0..N-1 (paired across methods)')
    p.add_argument(
        '--methods',
        nargs='+',
        default=list(default_methods or methods),
        choices=list(methods))
    p.add_argument(
        '--teacher-ckpt',
        default=None,
        help='use this teacher checkpoint instead of training one')
    p.add_argument('--out', default=f'work_dirs/studies/{name}')
    p.add_argument(
        '--plot',
        default=None,
        help=f'plot path (default <out>/paired.png: a study never writes into the '
        f'checkout unless asked, e.g. --plot docs/studies_{name}.png for the docs)')
    p.add_argument(
        '--threads',
        type=int,
        default=threads,
        help=f'torch threads per run (default {threads})')
    p.add_argument(
        '--jobs',
        type=int,
        default=None,
        help='runs trained at once, each with --threads (use 1 on a shared machine)')
    p.add_argument(
        '--show-commands',
        action='store_true',
        help='print the tools/train.py command of every run (what the study '
        'trains, by hand) and exit')
    p.add_argument(
        '--quick',
        action='store_true',
        help=quick_help + ': the end-to-end check of the test suite, not a result')
    return p


def classifier_study(name: str, configs: Dict[str, str], labels: Dict[str, str],
                     references: Sequence[str], family: Sequence[Tuple[str,
                                                                       str]]) -> dict:
    """The :class:`PairedStudy` arguments of a digits classification study
    (``tools/benchmark/digits_{kd,deit}.py``): top-1 accuracy, and the settings that
    must match on resume (student epochs, data fraction, teacher epochs and
    checkpoint)."""
    return dict(
        name=name,
        configs=configs,
        labels=labels,
        references=references,
        metric='accuracy/top1',
        family=family,
        settings=('epochs', 'data_fraction', 'teacher_epochs', 'teacher_ckpt'))


def classifier_study_parser(description: str, study: dict, default_methods: Sequence[str],
                            defaults: dict) -> argparse.ArgumentParser:
    """:func:`study_parser` plus the budget of a digits classification study
    (``tools/benchmark/digits_{kd,deit}.py``): ``--epochs --data-fraction
    --teacher-epochs``, defaults from ``defaults`` (``seeds``, ``epochs``,
    ``data_fraction``). Parse with :func:`parse_classifier_study`."""
    p = study_parser(
        description,
        study['name'], [m for m in study['configs'] if m != 'teacher'],
        default_methods,
        seeds=defaults['seeds'],
        quick_help='2 seeds, 1 epoch, 5 %% of the data, 1-epoch teacher on 10 %%')
    budget = (('--epochs', int, defaults['epochs'], 'student epochs'),
              ('--data-fraction', float, defaults['data_fraction'],
               'fraction of the training split for the students (1: all)'),
              ('--teacher-epochs', int, None, 'teacher epochs (default: as configured)'))
    for flag, kind, default, text in budget:
        p.add_argument(flag, type=kind, default=default, help=text)
    return p


def parse_classifier_study(p: argparse.ArgumentParser,
                           argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the arguments of :func:`classifier_study_parser`: ``--quick`` sets 2
    seeds, 1 epoch, 5 % of the data and a 1-epoch teacher; ``--data-fraction`` must
    be in (0, 1] (else a parser error naming it)."""
    args = p.parse_args(argv)
    if args.quick:
        args.seeds, args.epochs, args.data_fraction = 2, 1, 0.05
        args.teacher_epochs = 1
    if not 0 < args.data_fraction <= 1:
        p.error(f'--data-fraction must be in (0, 1], got {args.data_fraction}')
    return args


def top1_formatter(metric: str) -> Callable[[dict], str]:
    """The progress-line summary of a classification run: ``top-1 <metric>``."""

    def top1(metrics: dict) -> str:
        return f'top-1 {metrics.get(metric, float("nan")):.2f}'

    return top1


def run_classifier_study(args: argparse.Namespace, study: dict, alone: str,
                         **run_kwargs) -> Tuple['PairedStudy', Optional[float]]:
    """The runs of a digits classification study: the teacher trained once (or
    ``--teacher-ckpt``; with ``--quick`` on 10 % of the data), then every seed x
    method with ``--epochs`` and ``--data-fraction``, the teacher checkpoint given to
    every method but ``alone`` (the student alone). Returns the study (for
    :meth:`PairedStudy.finish`) and the teacher's metric (``None`` if unknown)."""
    top1 = top1_formatter(study['metric'])
    paired = PairedStudy(args, **study)
    teacher_ckpt = paired.train_once(
        'teacher',
        0,
        top1,
        given=args.teacher_ckpt,
        epochs=args.teacher_epochs,
        data_fraction=0.1 if args.quick else None)
    paired.run(
        lambda seed, method: dict(
            epochs=args.epochs,
            data_fraction=args.data_fraction,
            teacher_ckpt=None if method == alone else teacher_ckpt), top1, **run_kwargs)
    return paired, paired.once_metric('teacher', 0, study['metric'])


def check_family(family: Optional[Sequence[Tuple[str, str]]], references: Sequence[str],
                 methods: Sequence[str]) -> None:
    """Stop before any training when a ``FAMILY`` pair ``(method, reference)`` is not a
    comparison the report makes: the reference must be one of ``references``, the
    method another known method, and not a reference listed before it (that
    comparison is reported the other way round)."""
    if family is None:
        return
    references = list(references)
    for pair in family:
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
            raise SystemExit(f'FAMILY: entries must be (method, reference) pairs, got '
                             f'{pair!r}')
        m, ref = pair
        if ref not in references:
            raise SystemExit(f'FAMILY pair ({m!r}, {ref!r}): the reference must be one '
                             f'of the REFERENCES {tuple(references)}')
        if m not in methods or m == ref:
            raise SystemExit(f'FAMILY pair ({m!r}, {ref!r}): unknown method {m!r} '
                             f'(known: {", ".join(methods)})')
        if m in references and references.index(m) < references.index(ref):
            raise SystemExit(f'FAMILY pair ({m!r}, {ref!r}) is reported the other way '
                             f'round: write ({ref!r}, {m!r})')


class PairedStudy:
    """Seeds x methods of shipped configs, compared by paired differences.

    Args:
        args (Namespace): from :func:`study_parser` (plus the script's own).
        name (str): the study's name (``settings['study']``, default paths).
        configs (dict): method or once-trained model -> config path.
        labels (dict): method -> label of the tables and the plot.
        references (seq of str): the methods every other one is compared with.
        family (seq of (method, reference)): the comparisons the study tests, its
            ``FAMILY``: the report gives their Holm-adjusted p-values (``p_holm``),
            which decide; the other comparisons are descriptive. ``None``: every
            method against every reference. Pairs with a method not in ``--methods``
            leave the family of that run.
        metric (str): the validation metric compared (a key of the runner's metrics).
        settings (seq of str): the arguments (``args`` attributes) that make two
            runs comparable besides method and seed (budget, data, teacher); a
            results line counts as done only with equal settings.
        once (seq of str): the ``configs`` keys trained once (teachers, feature
            extractors). Defaults to ``('teacher', )``.
        scale (float): metric unit of the report (100: fraction -> points).
        jobs (int): runs at once when ``args.jobs`` is ``None``. Defaults to 2:
            two one-thread runs keep a 2-core machine busier than one run with two
            threads (the quick detection study: 27 s against 41 s).
    """

    def __init__(self,
                 args: argparse.Namespace,
                 name: str,
                 configs: Dict[str, str],
                 labels: Dict[str, str],
                 references: Sequence[str],
                 metric: str,
                 settings: Sequence[str],
                 once: Sequence[str] = ('teacher', ),
                 scale: float = 1.0,
                 jobs: int = 2,
                 family: Optional[Sequence[Tuple[str, str]]] = None):
        self.name, self.args, self.configs = name, args, configs
        self.labels, self.references = labels, tuple(references)
        self.family = None if family is None else [tuple(p) for p in family]
        check_family(self.family, self.references, [m for m in configs])
        self.metric, self.scale = metric, scale
        self.methods = list(args.methods)
        import torch
        torch.set_num_threads(args.threads)  # this process; every run sets its own
        if args.jobs is None:
            args.jobs = jobs
        if args.plot is None:
            args.plot = osp.join(args.out, 'paired.png')
        for m in list(once) + self.methods:
            if not osp.isfile(configs[m]):
                raise SystemExit(f'config of {m!r} not found: {configs[m]} (edit the '
                                 f'CONFIGS table at the top of the study script)')
        self.warning = unpaired_warning({m: configs[m] for m in self.methods})
        if self.warning:
            print(self.warning, flush=True)
        self.settings = dict(
            study=name, **{k: getattr(args, k)
                           for k in settings}, quick=bool(args.quick))
        self.results = ResultsFile(osp.join(args.out, 'results.jsonl'), self.settings)
        self.show_commands = bool(getattr(args, 'show_commands', False))
        self.t_start = time.perf_counter()

    def work_dir(self, method: str, seed: Optional[int] = None) -> str:
        return osp.join(self.args.out, method if seed is None else f'{method}_seed{seed}')

    def train_once(self,
                   name: str,
                   seed: int,
                   describe: Callable[[dict], str],
                   given: Optional[str] = None,
                   **run_kwargs) -> str:
        """Checkpoint of ``configs[name]`` trained once with ``seed``: ``given``
        if set, else the recorded run if its checkpoint still exists, else a new
        run (:func:`run_config` with ``run_kwargs``), recorded."""
        if given:
            return osp.abspath(given)
        if self.show_commands:
            command, ckpt = train_command(self.configs[name], self.work_dir(name), seed,
                                          **run_kwargs)
            print(command)
            return ckpt
        rec = self.results.done(name, seed)
        if rec is not None and rec.get('checkpoint') and osp.isfile(rec['checkpoint']):
            print(f'{name}: resumed ({describe(rec["metrics"])})', flush=True)
            return rec['checkpoint']
        res = run_config(
            self.configs[name],
            self.work_dir(name),
            seed,
            threads=self.args.threads,
            **run_kwargs)
        self.results.append(
            name, seed, res['metrics'], res['seconds'], checkpoint=res['checkpoint'])
        print(f'{name}: {describe(res["metrics"])} ({res["seconds"]:.1f} s)', flush=True)
        return res['checkpoint']

    def once_metric(self, name: str, seed: int, key: str) -> Optional[float]:
        """A metric of a once-trained model, ``None`` when it was given, not run."""
        rec = self.results.done(name, seed)
        return rec['metrics'].get(key) if rec else None

    def run(self,
            run_kwargs: Callable[[int, str], dict],
            describe: Callable[[dict], str],
            keep_checkpoints: bool = False) -> None:
        """Train every (seed, method) not yet recorded: ``run_kwargs(seed, method)``
        gives the :func:`run_config` budget / paths / options of one run. Each run
        is recorded (and its checkpoints deleted unless ``keep_checkpoints``) as
        soon as it finishes."""
        runs = [(s, m) for s in range(self.args.seeds) for m in self.methods]
        if self.show_commands:
            for seed, method in runs:
                print(
                    train_command(self.configs[method], self.work_dir(method, seed), seed,
                                  **run_kwargs(seed, method))[0])
            return
        progress = Progress(len(runs), jobs=self.args.jobs)
        todo = []
        for seed, method in runs:
            rec = self.results.done(method, seed)
            if rec is not None:
                print(
                    progress.line(
                        method,
                        seed,
                        describe(rec['metrics']),
                        rec['seconds'],
                        resumed=True),
                    flush=True)
                continue
            todo.append(((seed, method),
                         dict(
                             config=self.configs[method],
                             work_dir=self.work_dir(method, seed),
                             seed=seed,
                             threads=self.args.threads,
                             **run_kwargs(seed, method))))

        def record(key, res):
            seed, method = key
            if self.metric not in res['metrics']:
                raise RuntimeError(f'{method} seed {seed}: no {self.metric} in the '
                                   f'validation metrics {sorted(res["metrics"])}')
            self.results.append(
                method,
                seed,
                res['metrics'],
                res['seconds'],
                train_seconds=round(res['train_seconds'], 2),
                config=self.configs[method])
            work_dir = self.work_dir(method, seed)
            if not keep_checkpoints:
                for f in os.listdir(work_dir):
                    if f.endswith('.pth'):
                        os.remove(osp.join(work_dir, f))
            print(
                progress.line(method, seed, describe(res['metrics']), res['seconds']),
                flush=True)

        run_configs(todo, jobs=self.args.jobs, on_done=record)

    def values(self, key: str, scale: Optional[float] = None) -> dict:
        """``{method: {seed: scale * metrics[key]}}`` over the study's seeds."""
        scale = self.scale if scale is None else scale
        vals = self.results.values(key, self.methods)
        return {
            m: {
                s: scale * v
                for s, v in by.items() if s < self.args.seeds
            }
            for m, by in vals.items()
        }

    def finish(self,
               header: str,
               table_metric: str,
               plot_title: str,
               plot_metric: str,
               digits: int = 2,
               extra: Optional[Dict[str, Dict[str, str]]] = None,
               higher_is_better: bool = True,
               payload: Optional[dict] = None) -> dict:
        """Paired report of ``metric``: writes ``<out>/report.md`` (``header`` and
        the tables), ``<out>/report.json`` (``payload`` too) and the plot; prints
        the tables and ``RESULT <json>``. Returns the report (``None`` with
        ``--show-commands``: nothing was trained)."""
        if self.show_commands:
            return None
        report = paired_report(
            self.values(self.metric), self.references, family=self.family)
        table = markdown_tables(
            report, self.labels, table_metric, digits=digits, extra=extra)
        out = self.args.out
        os.makedirs(out, exist_ok=True)
        warning = self.warning + '\n\n' if self.warning else ''
        with open(osp.join(out, 'report.md'), 'w') as f:
            f.write(header + '\n\n' + warning + table + '\n')
        common = dict(
            settings=self.settings,
            seeds=self.args.seeds,
            unpaired=self.warning,
            **(payload or {}))
        with open(osp.join(out, 'report.json'), 'w') as f:
            json.dump(dict(common, configs=self.configs, report=report), f, indent=1)
        if any(report['differences'].values()):
            plot_paired(report, self.labels, self.args.plot, plot_title, plot_metric,
                        higher_is_better)
        else:  # e.g. --methods with one method: its runs are recorded, nothing to pair
            print(
                'no paired differences (run a reference method and another one): '
                'no plot',
                flush=True)
        total = time.perf_counter() - self.t_start
        print('\n' + header + '\n\n' + table)
        print(f'\nreport: {out}/report.md, report.json; plot: {self.args.plot}; '
              f'total {total:.0f} s')
        print(
            'RESULT ' + json.dumps(
                dict(
                    common,
                    methods=report['methods'],
                    differences=report['differences'],
                    family=report['family'],
                    plot=self.args.plot,
                    total_s=round(total, 1))),
            flush=True)
        return report
