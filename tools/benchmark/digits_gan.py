"""Paired GAN study on digits: data-limited BigGAN with discriminator distillation.

Every run trains a config under ``configs/`` through MMEngine's ``Runner`` (as
``tools/train.py``), changed only in the seed, the paths and the number of iterations
(``mmkd_ext.utils.study.apply_overrides``):

* two digits classifiers trained once on the whole training split (seed 0 / seed 1):
  ``CONFIGS['teacher']`` (ResNet-18-w32, 256-d), the frozen teacher of the distilled
  discriminators, and ``CONFIGS['fid_classifier']`` (ResNet-18-w8, 64-d), a *different*
  network whose features give FID / precision / recall / density / coverage / IS;
* per seed, the four GANs of the CPU-sized digits study (10 % of the training images,
  16x16, BigGAN width 16, 500 G iterations, EMA G, 500 class-balanced samples against
  the 360 test images): DiffAugment baseline, KD-DLGAN-style regression, VKD without
  normalisation, VKD with whitening.

Seed ``s`` fixes G's and D's initial weights (D's distillation head is built after its
shared layers), the data order and the noise / DiffAugment stream of every method
(``RNGStateHook``), so methods are compared by paired FID differences (mean, 95 %
t-interval, paired t-test; Wilcoxon from 10 seeds) against the baseline and against
the regression baseline (``mmkd_ext.utils.study``). Results are appended per run to
``<out>/results.jsonl`` (a restarted study resumes); writes ``<out>/report.{md,json}``,
the plot (``--plot``, default ``docs/studies_digits_gan.png``) and the seed-0 sample
grids (``--grid``, default ``docs/digits_gan_samples.png``); prints a progress line per
run with an ETA and ``RESULT <json>``.

    python tools/benchmark/digits_gan.py                  # the study (docs/studies.md)
    python tools/benchmark/digits_gan.py --quick --out /tmp/q   # end-to-end check
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
    'teacher':
    'configs/digits/resnet18-w32_20e_digits.py',
    'fid_classifier':
    'configs/digits/resnet18-w8_20e_digits.py',
    'baseline':
    'configs/gan/biggan-diffaug-ch16_0.5k_digits-16px-10pct.py',
    'regression':
    'configs/vkd/vkd_biggan-diffaug-ch16_resnet18-w32_0.5k_digits-16px-'
    '10pct_regression.py',
    'vkd_nonorm':
    'configs/vkd/vkd_biggan-diffaug-ch16_resnet18-w32_0.5k_digits-16px-10pct_nonorm.py',
    'vkd_whiten':
    'configs/vkd/vkd_biggan-diffaug-ch16_resnet18-w32_0.5k_digits-16px-10pct.py',
}
CLASSIFIER_SEEDS = dict(teacher=0, fid_classifier=1)
METHODS = ('baseline', 'regression', 'vkd_nonorm', 'vkd_whiten')
LABELS = {
    'baseline': 'DiffAugment baseline',
    'regression': 'teacher regression (KD-DLGAN)',
    'vkd_nonorm': 'VKD, no normalisation',
    'vkd_whiten': 'VKD, whitening',
}
REFERENCES = ('baseline', 'regression')
DEFAULTS = dict(seeds=5)  # iterations: as configured (500)
KEYS = ('FID', 'precision', 'recall', 'density', 'coverage', 'IS')
PREFIX = 'gen/'


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument(
        '--seeds',
        type=int,
        default=DEFAULTS['seeds'],
        help='seeds 0..N-1 (paired across methods)')
    p.add_argument('--methods', nargs='+', default=list(METHODS), choices=METHODS)
    p.add_argument(
        '--iters',
        type=int,
        default=None,
        help='G iterations per run (default: as configured, 500)')
    p.add_argument(
        '--clf-epochs',
        type=int,
        default=None,
        help='epochs of the two classifiers (default: as configured, 20)')
    p.add_argument(
        '--teacher-ckpt',
        default=None,
        help='use this teacher checkpoint (CONFIGS["teacher"]) instead of '
        'training one')
    p.add_argument(
        '--fid-ckpt',
        default=None,
        help='use this FID classifier checkpoint (CONFIGS["fid_classifier"]) '
        'instead of training one')
    p.add_argument('--out', default='work_dirs/studies/digits_gan')
    p.add_argument(
        '--plot',
        default=None,
        help='plot path (default docs/studies_digits_gan.png; with --quick '
        '<out>/paired.png)')
    p.add_argument(
        '--grid',
        default=None,
        help='seed-0 sample grids of every method side by side (default '
        'docs/digits_gan_samples.png; with --quick <out>/samples.png)')
    p.add_argument('--threads', type=int, default=1)
    p.add_argument(
        '--jobs',
        type=int,
        default=None,
        help='runs trained at once (default 2, for an idle 2-core machine, '
        'each with --threads 1; 1 with --quick; use 1 on a shared machine)')
    p.add_argument(
        '--quick',
        action='store_true',
        help='2 seeds, 4 iterations, 1-epoch classifiers on 10 %% of the '
        'data: the end-to-end check of the test suite (not a result)')
    args = p.parse_args(argv)
    if args.quick:
        args.seeds, args.iters, args.clf_epochs = 2, 4, 1
    if args.jobs is None:
        args.jobs = 1 if args.quick else 2
    if args.plot is None:
        args.plot = osp.join(args.out, 'paired.png') if args.quick else \
            'docs/studies_digits_gan.png'
    if args.grid is None:
        args.grid = osp.join(args.out, 'samples.png') if args.quick else \
            'docs/digits_gan_samples.png'
    return args


def classifier(name, args, results, run_config):
    given = args.teacher_ckpt if name == 'teacher' else args.fid_ckpt
    if given:
        return osp.abspath(given)
    rec = results.done(name, CLASSIFIER_SEEDS[name])
    if rec is not None and rec.get('checkpoint') and osp.isfile(rec['checkpoint']):
        print(
            f'{name}: resumed (top-1 {rec["metrics"].get("accuracy/top1", 0):.2f} %)',
            flush=True)
        return rec['checkpoint']
    res = run_config(
        CONFIGS[name],
        osp.join(args.out, name),
        CLASSIFIER_SEEDS[name],
        epochs=args.clf_epochs,
        data_fraction=0.1 if args.quick else None,
        threads=args.threads)
    results.append(
        name,
        CLASSIFIER_SEEDS[name],
        res['metrics'],
        res['seconds'],
        checkpoint=res['checkpoint'])
    print(
        f'{name}: top-1 {res["metrics"].get("accuracy/top1", 0):.2f} % '
        f'({res["seconds"]:.1f} s)',
        flush=True)
    return res['checkpoint']


def sample_grids(args, methods):
    """Seed-0 grids written by GANSampleGridHook, side by side."""
    import glob

    import torch
    import torch.nn.functional as F
    from torchvision.io import read_image
    from torchvision.utils import save_image
    tiles = []
    for m in methods:
        found = sorted(
            glob.glob(osp.join(args.out, f'{m}_seed0', '**', '*.png'), recursive=True),
            key=osp.getmtime)
        found = [f for f in found if 'vis_data' not in f]
        if not found:
            return None
        tiles.append(F.pad(read_image(found[-1]).float() / 255, (2, 2, 0, 0), value=1))
    if len({t.shape for t in tiles}) != 1:
        return None
    os.makedirs(osp.dirname(osp.abspath(args.grid)), exist_ok=True)
    save_image(torch.cat(tiles, 2), args.grid)
    return args.grid


def main(argv=None):
    args = parse_args(argv)
    os.environ.setdefault('OMP_NUM_THREADS', str(args.threads))
    os.chdir(REPO)
    import torch
    torch.set_num_threads(args.threads)
    import mmpretrain  # noqa: F401

    import mmkd_ext  # noqa: F401  (import once; every run is a fork of this process)
    from mmkd_ext.utils.study import (Progress, ResultsFile, markdown_tables, mean_sd,
                                      paired_report, plot_paired, run_config, run_configs,
                                      unpaired_warning)
    for m in ['teacher', 'fid_classifier'] + list(args.methods):
        if not osp.isfile(CONFIGS[m]):
            raise SystemExit(f'config of {m!r} not found: {CONFIGS[m]} (edit CONFIGS '
                             f'at the top of {__file__})')
    warning = unpaired_warning({m: CONFIGS[m] for m in args.methods})
    if warning:
        print(warning, flush=True)
    out = args.out
    settings = dict(
        study='digits_gan',
        iters=args.iters,
        clf_epochs=args.clf_epochs,
        teacher_ckpt=args.teacher_ckpt,
        fid_ckpt=args.fid_ckpt,
        quick=args.quick)
    results = ResultsFile(osp.join(out, 'results.jsonl'), settings)
    t_start = time.perf_counter()
    teacher_ckpt = classifier('teacher', args, results, run_config)
    fid_ckpt = classifier('fid_classifier', args, results, run_config)
    paths = {
        'model.teacher.checkpoint': teacher_ckpt,
        'val_evaluator.feature_extractor.checkpoint': fid_ckpt,
        'test_evaluator.feature_extractor.checkpoint': fid_ckpt
    }

    runs = [(s, m) for s in range(args.seeds) for m in args.methods]
    progress = Progress(len(runs), jobs=args.jobs)
    fid = PREFIX + 'FID'
    todo = []
    for seed, method in runs:
        rec = results.done(method, seed)
        if rec is not None:
            print(
                progress.line(
                    method,
                    seed,
                    f'FID {rec["metrics"][fid]:.3f}',
                    rec['seconds'],
                    resumed=True),
                flush=True)
            continue
        opts = dict(paths) if method != 'baseline' else {
            k: v
            for k, v in paths.items() if not k.startswith('model.')
        }
        todo.append(((seed, method),
                     dict(
                         config=CONFIGS[method],
                         work_dir=osp.join(out, f'{method}_seed{seed}'),
                         seed=seed,
                         iters=args.iters,
                         cfg_options=opts,
                         threads=args.threads)))

    def record(key, res):
        seed, method = key
        work_dir = osp.join(out, f'{method}_seed{seed}')
        if fid not in res['metrics']:
            raise RuntimeError(f'{method} seed {seed}: no {fid} in the validation '
                               f'metrics {sorted(res["metrics"])}')
        results.append(
            method,
            seed,
            res['metrics'],
            res['seconds'],
            train_seconds=round(res['train_seconds'], 2),
            config=CONFIGS[method])
        for f in os.listdir(work_dir):
            if f.endswith('.pth'):
                os.remove(osp.join(work_dir, f))
        m = res['metrics']
        summary = (f'FID {m[fid]:.3f} P {m[PREFIX + "precision"]:.3f} R '
                   f'{m[PREFIX + "recall"]:.3f} IS {m[PREFIX + "IS"]:.3f}')
        print(progress.line(method, seed, summary, res['seconds']), flush=True)

    run_configs(todo, jobs=args.jobs, on_done=record)

    def seeded(key):
        vals = results.values(PREFIX + key, args.methods)
        return {
            m: {
                s: v
                for s, v in by.items() if s < args.seeds
            }
            for m, by in vals.items()
        }

    report = paired_report(seeded('FID'), REFERENCES)
    others = {k: seeded(k) for k in KEYS[1:]}
    extra = {
        m: {
            k: '{:.3f} +- {:.3f}'.format(*mean_sd(others[k][m].values())[:2])
            for k in KEYS[1:]
        }
        for m in args.methods
    }
    clf = {n: results.done(n, CLASSIFIER_SEEDS[n]) for n in CLASSIFIER_SEEDS}
    acc = {n: (r['metrics'].get('accuracy/top1') if r else None) for n, r in clf.items()}
    it = args.iters or 500
    header = (f'Digits GAN, paired study: 10 % of the training images (144), 16x16, '
              f'BigGAN width 16, {it} G iterations, {args.seeds} seeds; FID etc. on the '
              f'features of the ResNet-18-w8 digits classifier (top-1 '
              f'{acc["fid_classifier"] or float("nan"):.2f} %) against the 360 test '
              f'images; teacher ResNet-18-w32 (top-1 {acc["teacher"] or float("nan"):.2f}'
              f' %). FID: lower is better.')
    table = markdown_tables(report, LABELS, 'FID', digits=3, extra=extra)
    os.makedirs(out, exist_ok=True)
    with open(osp.join(out, 'report.md'), 'w') as f:
        f.write(header + '\n\n' + (warning + '\n\n' if warning else '') + table + '\n')
    with open(osp.join(out, 'report.json'), 'w') as f:
        json.dump(
            dict(
                settings=settings,
                seeds=args.seeds,
                unpaired=warning,
                classifier_top1=acc,
                configs=CONFIGS,
                report=report,
                other_metrics={
                    k: {
                        m: list(v.values())
                        for m, v in d.items()
                    }
                    for k, d in others.items()
                }),
            f,
            indent=1)
    plot_paired(
        report,
        LABELS,
        args.plot,
        f'Digits GAN study: 10 % data, {it} G iterations',
        'FID',
        higher_is_better=False)
    grid = sample_grids(args, args.methods)
    total = time.perf_counter() - t_start
    print('\n' + header + '\n\n' + table)
    print(f'\nreport: {out}/report.md, report.json; plot: {args.plot}; sample grids '
          f'(seed 0; {", ".join(args.methods)}): {grid}; total {total:.0f} s')
    print(
        'RESULT ' + json.dumps(
            dict(
                settings=settings,
                seeds=args.seeds,
                unpaired=warning,
                classifier_top1=acc,
                methods=report['methods'],
                differences=report['differences'],
                plot=args.plot,
                grid=grid,
                total_s=round(total, 1))),
        flush=True)
    return report


if __name__ == '__main__':
    main()
