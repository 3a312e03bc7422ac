"""Paired classification study on digits: the shipped KD / VKD / NCKD configs against
the student alone, over many seeds.

Every run trains a config under ``configs/`` through MMEngine's ``Runner``
(``Config.fromfile`` + ``Runner.from_cfg``, as ``tools/train.py``), changed only in the
seed, the paths, the number of epochs and the fraction of the training split
(``mmkd_ext.utils.study.apply_overrides``); each row of the report can be rerun by hand
with ``tools/train.py CONFIG --cfg-options ...`` (printed with ``--show-commands``).

* teacher: ``CONFIGS['teacher']`` (ResNet-18 at width 32) trained once, seed 0, on the
  whole training split, the config's 20 epochs;
* students (ResNet-18 at width 8): one run per method and seed on ``--data-fraction``
  of the training split (subset drawn with ``subset_seed = seed``) for ``--epochs``.
  Seed ``s`` gives every method the same student initialisation, data order, subset and
  augmentation (``RNGStateHook``), so the methods are compared by **paired**
  differences: mean, 95 % t-interval and p-value (paired t-test; Wilcoxon signed-rank
  from 10 seeds on) of ``top-1(method) - top-1(reference)`` against the student alone
  and against logit KD (``mmkd_ext.utils.study``).

Results are appended to ``<out>/results.jsonl`` after every run; a restarted study skips
the runs already there. Writes ``<out>/report.md``, ``<out>/report.json`` and the plot
(``--plot``, default ``docs/studies_digits_kd.png``); prints a progress line with an ETA
per run and ends with ``RESULT <json>``.

    python tools/benchmark/digits_kd.py                       # the study, docs/studies.md
    python tools/benchmark/digits_kd.py --methods student kd   # the positive control
    python tools/benchmark/digits_kd.py --quick --out /tmp/q   # end-to-end check
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)

# The configs this study trains: the one table to edit when a config is renamed.
CONFIGS = {
    'teacher': 'configs/digits/resnet18-w32_20e_digits.py',
    'student': 'configs/digits/resnet18-w8_20e_digits.py',
    'kd': 'configs/kd/kd_resnet18-w8_resnet18-w32_20e_digits.py',
    'vkd': 'configs/vkd/vkd_resnet18-w8_resnet18-w32_20e_digits.py',
    'nckd': 'configs/nckd/nckd_resnet18-w8_resnet18-w32_20e_digits.py',
    'nckd-nc1': 'configs/nckd/nckd_resnet18-w8_resnet18-w32_20e_digits_nc1-only.py',
    'nckd-nc2': 'configs/nckd/nckd_resnet18-w8_resnet18-w32_20e_digits_nc2-only.py',
    'nckd-nc3': 'configs/nckd/nckd_resnet18-w8_resnet18-w32_20e_digits_nc3-only.py',
}
LABELS = {
    'student': 'student alone',
    'kd': 'logit KD (T=4)',
    'vkd': 'logit KD + VKD',
    'nckd': 'logit KD + NCKD (NC1+NC2+NC3)',
    'nckd-nc1': 'logit KD + NC1',
    'nckd-nc2': 'logit KD + NC2',
    'nckd-nc3': 'logit KD + NC3 head',
}
REFERENCES = ('student', 'kd')
DEFAULT_METHODS = ('student', 'kd', 'vkd', 'nckd')
# The study setting chosen by the positive control (docs/studies.md): the defaults.
DEFAULTS = dict(seeds=10, epochs=20, data_fraction=0.25)
METRIC = 'accuracy/top1'


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument(
        '--seeds',
        type=int,
        default=DEFAULTS['seeds'],
        help='seeds 0..N-1 (paired across methods)')
    p.add_argument(
        '--methods',
        nargs='+',
        default=list(DEFAULT_METHODS),
        choices=[m for m in CONFIGS if m != 'teacher'])
    p.add_argument(
        '--epochs', type=int, default=DEFAULTS['epochs'], help='student epochs')
    p.add_argument(
        '--data-fraction',
        type=float,
        default=DEFAULTS['data_fraction'],
        help='fraction of the training split for the students (1: all)')
    p.add_argument(
        '--teacher-epochs',
        type=int,
        default=None,
        help='teacher epochs (default: as configured)')
    p.add_argument(
        '--teacher-ckpt',
        default=None,
        help='use this teacher checkpoint instead of training one')
    p.add_argument('--out', default='work_dirs/studies/digits_kd')
    p.add_argument(
        '--plot',
        default=None,
        help='plot path (default docs/studies_digits_kd.png; with --quick '
        '<out>/paired.png)')
    p.add_argument(
        '--keep-checkpoints',
        action='store_true',
        help='keep every student checkpoint (default: deleted after eval)')
    p.add_argument(
        '--threads',
        type=int,
        default=1,
        help='torch threads per run (1: the runs are tiny; more threads '
        'lose to oversubscription on a shared machine)')
    p.add_argument(
        '--jobs',
        type=int,
        default=None,
        help='runs trained at once (default 2, for an idle 2-core machine, '
        'each with --threads 1; 1 with --quick; use 1 on a shared machine)')
    p.add_argument(
        '--show-commands',
        action='store_true',
        help='print the tools/train.py command of every run and exit')
    p.add_argument(
        '--quick',
        action='store_true',
        help='2 seeds, 1 epoch, 5 %% of the data, 1-epoch teacher on 10 %%: '
        'the end-to-end check of the test suite (not a result)')
    args = p.parse_args(argv)
    if args.quick:
        args.seeds, args.epochs, args.data_fraction = 2, 1, 0.05
        args.teacher_epochs = 1
    if args.jobs is None:
        args.jobs = 1 if args.quick else 2
    if args.plot is None:
        args.plot = osp.join(args.out, 'paired.png') if args.quick else \
            'docs/studies_digits_kd.png'
    if not 0 < args.data_fraction <= 1:
        p.error(f'--data-fraction must be in (0, 1], got {args.data_fraction}')
    return args


def teacher_run(args, results):
    """Train (or reuse) the teacher; returns its checkpoint path."""
    if args.teacher_ckpt:
        return osp.abspath(args.teacher_ckpt)
    from mmkd_ext.utils.study import run_config
    rec = results.done('teacher', 0)
    if rec is not None and rec.get('checkpoint') and osp.isfile(rec['checkpoint']):
        print(
            f'teacher: resumed ({rec["metrics"].get(METRIC, float("nan")):.2f} % '
            f'top-1)',
            flush=True)
        return rec['checkpoint']
    res = run_config(
        CONFIGS['teacher'],
        osp.join(args.out, 'teacher'),
        0,
        epochs=args.teacher_epochs,
        data_fraction=0.1 if args.quick else None,
        threads=args.threads)
    results.append(
        'teacher', 0, res['metrics'], res['seconds'], checkpoint=res['checkpoint'])
    print(
        f'teacher: top-1 {res["metrics"].get(METRIC, float("nan")):.2f} % '
        f'({res["seconds"]:.1f} s)',
        flush=True)
    return res['checkpoint']


def commands(args, teacher_ckpt):
    lines = []
    for seed in range(args.seeds):
        for m in args.methods:
            opts = [
                f'randomness.seed={seed}', f'train_cfg.max_epochs={args.epochs}',
                f'train_cfg.val_interval={args.epochs}',
                f'param_scheduler.T_max={args.epochs}',
                f'train_dataloader.dataset.subset_ratio={args.data_fraction}',
                f'train_dataloader.dataset.subset_seed={seed}'
            ]
            if m != 'student':
                opts.append(f'model.teacher_ckpt={teacher_ckpt}')
            lines.append(f'python tools/train.py {CONFIGS[m]} --work-dir '
                         f'{args.out}/{m}_seed{seed} --cfg-options ' + ' '.join(opts))
    return lines


def main(argv=None):
    args = parse_args(argv)
    os.environ.setdefault('OMP_NUM_THREADS', str(args.threads))
    os.chdir(REPO)
    import torch
    torch.set_num_threads(args.threads)
    import mmpretrain  # noqa: F401
    import mmrazor  # noqa: F401

    import mmkd_ext  # noqa: F401  (import once; every run is a fork of this process)
    from mmkd_ext.utils.study import (Progress, ResultsFile, markdown_tables,
                                      paired_report, plot_paired, run_configs,
                                      unpaired_warning)
    for m in ['teacher'] + list(args.methods):
        if not osp.isfile(CONFIGS[m]):
            raise SystemExit(f'config of {m!r} not found: {CONFIGS[m]} (edit CONFIGS '
                             f'at the top of {__file__})')
    warning = unpaired_warning({m: CONFIGS[m] for m in args.methods})
    if warning:
        print(warning, flush=True)
    out = args.out
    settings = dict(
        study='digits_kd',
        epochs=args.epochs,
        data_fraction=args.data_fraction,
        teacher_epochs=args.teacher_epochs,
        teacher_ckpt=args.teacher_ckpt,
        quick=args.quick)
    results = ResultsFile(osp.join(out, 'results.jsonl'), settings)
    if args.show_commands:
        teacher = args.teacher_ckpt or f'{out}/teacher/epoch_N.pth'
        print('\n'.join(commands(args, teacher)))
        return None
    t_start = time.perf_counter()
    teacher_ckpt = teacher_run(args, results)

    runs = [(s, m) for s in range(args.seeds) for m in args.methods]
    progress = Progress(len(runs), jobs=args.jobs)
    todo = []
    for seed, method in runs:
        rec = results.done(method, seed)
        if rec is not None:
            print(
                progress.line(
                    method,
                    seed,
                    f'top-1 {rec["metrics"][METRIC]:.2f}',
                    rec['seconds'],
                    resumed=True),
                flush=True)
            continue
        todo.append(((seed, method),
                     dict(
                         config=CONFIGS[method],
                         work_dir=osp.join(out, f'{method}_seed{seed}'),
                         seed=seed,
                         epochs=args.epochs,
                         data_fraction=args.data_fraction,
                         teacher_ckpt=None if method == 'student' else teacher_ckpt,
                         threads=args.threads)))

    def record(key, res):
        seed, method = key
        work_dir = osp.join(out, f'{method}_seed{seed}')
        if METRIC not in res['metrics']:
            raise RuntimeError(f'{method} seed {seed}: no {METRIC} in the validation '
                               f'metrics {sorted(res["metrics"])}')
        results.append(
            method,
            seed,
            res['metrics'],
            res['seconds'],
            train_seconds=round(res['train_seconds'], 2),
            config=CONFIGS[method])
        if not args.keep_checkpoints and res.get('checkpoint'):
            for f in os.listdir(work_dir):
                if f.endswith('.pth'):
                    os.remove(osp.join(work_dir, f))
        print(
            progress.line(method, seed, f'top-1 {res["metrics"][METRIC]:.2f}',
                          res['seconds']),
            flush=True)

    run_configs(todo, jobs=args.jobs, on_done=record)

    values = results.values(METRIC, args.methods)
    values = {
        m: {
            s: v
            for s, v in by.items() if s < args.seeds
        }
        for m, by in values.items()
    }
    report = paired_report(values, REFERENCES)
    teacher = results.done('teacher', 0)
    teacher_top1 = teacher['metrics'].get(METRIC) if teacher else None
    header = (f'Digits classification, paired study: student ResNet-18-w8 on '
              f'{args.data_fraction:g} of the 1437 training images (subset seed = '
              f'seed), {args.epochs} epochs, {args.seeds} seeds; teacher ResNet-18-w32 '
              f'(whole training split' +
              (f', top-1 {teacher_top1:.2f} %' if teacher_top1 is not None else '') +
              '); top-1 on the 360 test images (one image = 0.28 points).')
    table = markdown_tables(report, LABELS, 'top-1 (%)')
    os.makedirs(out, exist_ok=True)
    with open(osp.join(out, 'report.md'), 'w') as f:
        f.write(header + '\n\n' + (warning + '\n\n' if warning else '') + table + '\n')
    with open(osp.join(out, 'report.json'), 'w') as f:
        json.dump(
            dict(
                settings=settings,
                seeds=args.seeds,
                unpaired=warning,
                teacher_top1=teacher_top1,
                configs={m: CONFIGS[m]
                         for m in ['teacher'] + args.methods},
                report=report),
            f,
            indent=1)
    plot_paired(
        report, LABELS, args.plot,
        f'Digits KD study: ResNet-18-w8 on {args.data_fraction:g} of the data, '
        f'{args.epochs} epochs', 'top-1 (points)')
    total = time.perf_counter() - t_start
    print('\n' + header + '\n\n' + table)
    print(f'\nreport: {out}/report.md, report.json; plot: {args.plot}; total '
          f'{total:.0f} s')
    print(
        'RESULT ' + json.dumps(
            dict(
                settings=settings,
                seeds=args.seeds,
                unpaired=warning,
                teacher_top1=teacher_top1,
                methods=report['methods'],
                differences=report['differences'],
                plot=args.plot,
                total_s=round(total, 1))),
        flush=True)
    return report


if __name__ == '__main__':
    main()
