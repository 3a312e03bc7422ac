"""Paired detection study on the digits COCO set: ViDT Swin-nano alone, with VKD and
with token matching, over several seeds.

Every run trains a config under ``configs/`` through MMEngine's ``Runner`` (as
``tools/train.py``), changed only in the seed, the paths (data root, work dir, teacher
checkpoint) and the number of epochs (``mmkd_ext.utils.study.apply_overrides``):

* the digits COCO set is built once (``tools/dataset_converters/make_digits_coco.py``;
  default 400 train / 200 val images of 64x64 with 1-3 digits);
* ``CONFIGS['teacher']`` (ViDT Swin-tiny) is trained once, seed 0, ``--teacher-epochs``;
* per seed: the baseline Swin-nano, VKD from that teacher and token matching (ViDT's
  own KD, the baseline for VKD) from the same teacher, ``--epochs`` each, evaluated by
  MMDet's ``CocoMetric`` (bbox AP) on the val split.

Seed ``s`` gives the three students the same initial weights, data order and dropout /
drop-path stream (``RNGStateHook``), so they are compared by paired AP differences
(mean, 95 % t-interval, paired t-test; Wilcoxon from 10 seeds) against the baseline and
against token matching (``mmkd_ext.utils.study``). Results are appended per run to
``<out>/results.jsonl`` (a restarted study resumes); writes ``<out>/report.{md,json}``
and the plot (``--plot``, default ``docs/studies_digits_det.png``); prints a progress
line per run with an ETA and ``RESULT <json>``.

    python tools/benchmark/digits_det.py                   # the study (docs/studies.md)
    python tools/benchmark/digits_det.py --quick --out /tmp/q    # end-to-end check
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
    'configs/vidt/vidt_swin-tiny_12e_digits.py',
    'baseline':
    'configs/vidt/vidt_swin-nano_12e_digits.py',
    'vkd':
    'configs/vkd/vkd_vidt-swin-nano_vidt-swin-tiny_12e_digits.py',
    'token_matching': ('configs/token_matching/'
                       'token-matching_vidt-swin-nano_vidt-swin-tiny_12e_digits.py'),
}
METHODS = ('baseline', 'vkd', 'token_matching')
LABELS = {
    'baseline': 'ViDT nano alone',
    'vkd': 'VKD (from Swin-tiny ViDT)',
    'token_matching': 'token matching (from Swin-tiny ViDT)'
}
REFERENCES = ('baseline', 'token_matching')
DEFAULTS = dict(seeds=5, epochs=5, teacher_epochs=7, num_train=400, num_val=200)
METRIC = 'coco/bbox_mAP'


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument(
        '--seeds',
        type=int,
        default=DEFAULTS['seeds'],
        help='seeds 0..N-1 (paired across methods)')
    p.add_argument('--methods', nargs='+', default=list(METHODS), choices=METHODS)
    p.add_argument(
        '--epochs',
        type=int,
        default=DEFAULTS['epochs'],
        help='epochs of every student run')
    p.add_argument('--teacher-epochs', type=int, default=DEFAULTS['teacher_epochs'])
    p.add_argument(
        '--teacher-ckpt',
        default=None,
        help='use this teacher checkpoint instead of training one')
    p.add_argument('--num-train', type=int, default=DEFAULTS['num_train'])
    p.add_argument('--num-val', type=int, default=DEFAULTS['num_val'])
    p.add_argument(
        '--data-root',
        default=None,
        help='digits COCO set (default data/digits_coco_<train>_<val>; '
        'built if missing)')
    p.add_argument('--out', default='work_dirs/studies/digits_det')
    p.add_argument(
        '--plot',
        default=None,
        help='plot path (default docs/studies_digits_det.png; with --quick '
        '<out>/paired.png)')
    p.add_argument(
        '--threads',
        type=int,
        default=2,
        help='torch threads per run (the ViDT runs use both cores)')
    p.add_argument(
        '--quick',
        action='store_true',
        help='2 seeds, 1 epoch (one iteration) on 8 train / 4 val images: '
        'the end-to-end check of the test suite (not a result)')
    args = p.parse_args(argv)
    if args.quick:
        args.seeds, args.epochs, args.teacher_epochs = 2, 1, 1
        args.num_train, args.num_val = 8, 4
    if args.data_root is None:
        args.data_root = f'data/digits_coco_{args.num_train}_{args.num_val}'
    if args.plot is None:
        args.plot = osp.join(args.out, 'paired.png') if args.quick else \
            'docs/studies_digits_det.png'
    return args


def data_options(root):
    ann = f'{root}/annotations/instances_val.json'
    return {
        'train_dataloader.dataset.data_root': root + '/',
        'val_dataloader.dataset.data_root': root + '/',
        'test_dataloader.dataset.data_root': root + '/',
        'val_evaluator.ann_file': ann,
        'test_evaluator.ann_file': ann
    }


def main(argv=None):
    args = parse_args(argv)
    os.environ.setdefault('OMP_NUM_THREADS', str(args.threads))
    os.chdir(REPO)
    import torch
    torch.set_num_threads(args.threads)
    import mmdet  # noqa: F401
    import mmrazor  # noqa: F401

    import mmkd_ext  # noqa: F401  (import once; every run is a fork of this process)
    from mmkd_ext.utils.study import (Progress, ResultsFile, markdown_tables, mean_sd,
                                      paired_report, plot_paired, run_config,
                                      unpaired_warning)
    for m in ['teacher'] + list(args.methods):
        if not osp.isfile(CONFIGS[m]):
            raise SystemExit(f'config of {m!r} not found: {CONFIGS[m]} (edit CONFIGS '
                             f'at the top of {__file__})')
    warning = unpaired_warning({m: CONFIGS[m] for m in args.methods})
    if warning:
        print(warning, flush=True)
    root = args.data_root.rstrip('/')
    if not osp.isfile(osp.join(root, 'annotations', 'instances_val.json')):
        sys.path.insert(0, osp.join(REPO, 'tools', 'dataset_converters'))
        from make_digits_coco import make_digits_coco
        print(f'building the digits detection set in {root}', flush=True)
        make_digits_coco(root, args.num_train, args.num_val)
    data = data_options(root)
    out = args.out
    settings = dict(
        study='digits_det',
        epochs=args.epochs,
        teacher_epochs=args.teacher_epochs,
        teacher_ckpt=args.teacher_ckpt,
        num_train=args.num_train,
        num_val=args.num_val,
        quick=args.quick)
    results = ResultsFile(osp.join(out, 'results.jsonl'), settings)
    t_start = time.perf_counter()

    teacher_ckpt = args.teacher_ckpt
    if teacher_ckpt is None:
        rec = results.done('teacher', 0)
        if rec is not None and rec.get('checkpoint') and osp.isfile(rec['checkpoint']):
            teacher_ckpt = rec['checkpoint']
            print(f'teacher: resumed (AP {100 * rec["metrics"][METRIC]:.1f})', flush=True)
        else:
            res = run_config(
                CONFIGS['teacher'],
                osp.join(out, 'teacher'),
                0,
                epochs=args.teacher_epochs,
                cfg_options=data,
                threads=args.threads)
            teacher_ckpt = res['checkpoint']
            results.append(
                'teacher', 0, res['metrics'], res['seconds'], checkpoint=teacher_ckpt)
            print(
                f'teacher: AP {100 * res["metrics"][METRIC]:.1f} '
                f'({res["seconds"]:.0f} s)',
                flush=True)

    runs = [(s, m) for s in range(args.seeds) for m in args.methods]
    progress = Progress(len(runs))
    for seed, method in runs:
        rec = results.done(method, seed)
        if rec is not None:
            print(
                progress.line(
                    method,
                    seed,
                    f'AP {100 * rec["metrics"][METRIC]:.1f}',
                    rec['seconds'],
                    resumed=True),
                flush=True)
            continue
        work_dir = osp.join(out, f'{method}_seed{seed}')
        res = run_config(
            CONFIGS[method],
            work_dir,
            seed,
            epochs=args.epochs,
            teacher_ckpt=None if method == 'baseline' else teacher_ckpt,
            cfg_options=data,
            threads=args.threads)
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
        for f in os.listdir(work_dir):
            if f.endswith('.pth'):
                os.remove(osp.join(work_dir, f))
        m = res['metrics']
        print(
            progress.line(
                method, seed, f'AP {100 * m[METRIC]:.1f} AP50 '
                f'{100 * m["coco/bbox_mAP_50"]:.1f}', res['seconds']),
            flush=True)

    def seeded(key):
        vals = results.values(key, args.methods)
        return {
            m: {
                s: 100 * v
                for s, v in by.items() if s < args.seeds
            }
            for m, by in vals.items()
        }

    report = paired_report(seeded(METRIC), REFERENCES)
    ap50, ap75 = seeded('coco/bbox_mAP_50'), seeded('coco/bbox_mAP_75')
    extra = {
        m: {
            'AP50': '{:.1f} +- {:.1f}'.format(*mean_sd(ap50[m].values())[:2]),
            'AP75': '{:.1f} +- {:.1f}'.format(*mean_sd(ap75[m].values())[:2])
        }
        for m in args.methods
    }
    teacher = results.done('teacher', 0)
    t_ap = 100 * teacher['metrics'][METRIC] if teacher else None
    header = (f'Digits detection, paired study: ViDT Swin-nano students, '
              f'{args.epochs} epochs on {args.num_train} images (64x64, 1-3 digits), '
              f'{args.seeds} seeds, COCO bbox AP on {args.num_val} val images; teacher '
              f'ViDT Swin-tiny, {args.teacher_epochs} epochs' +
              (f', AP {t_ap:.1f}' if t_ap is not None else '') + '.')
    table = markdown_tables(report, LABELS, 'AP', digits=1, extra=extra)
    os.makedirs(out, exist_ok=True)
    with open(osp.join(out, 'report.md'), 'w') as f:
        f.write(header + '\n\n' + (warning + '\n\n' if warning else '') + table + '\n')
    with open(osp.join(out, 'report.json'), 'w') as f:
        json.dump(
            dict(
                settings=settings,
                seeds=args.seeds,
                unpaired=warning,
                teacher_ap=t_ap,
                configs=CONFIGS,
                report=report),
            f,
            indent=1)
    plot_paired(report, LABELS, args.plot,
                f'Digits detection study: ViDT nano, {args.epochs} epochs', 'AP (points)')
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
                teacher_ap=t_ap,
                methods=report['methods'],
                differences=report['differences'],
                plot=args.plot,
                total_s=round(total, 1))),
        flush=True)
    return report


if __name__ == '__main__':
    main()
