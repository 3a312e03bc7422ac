"""Paired GAN study on digits: data-limited BigGAN with discriminator distillation.

Every run trains a config under ``configs/`` through MMEngine's ``Runner`` (as
``tools/train.py``), changed only in the seed, the paths and the number of iterations
(``study.apply_overrides``):

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
(``RNGStateHook``), so methods are compared by paired FID differences against the
baseline and against the regression baseline: mean, 95 % interval and p-value of one
paired t-test, with Holm-adjusted p-values over ``FAMILY`` (``tools/benchmark/study``).
Results are appended per run to ``<out>/results.jsonl`` (a restarted study resumes);
writes ``<out>/report.{md,json}``, the plot (``--plot``, default
``<out>/paired.png``) and the seed-0 sample grids (``--grid``, default
``<out>/samples.png``; nothing is written into the checkout unless a path there is
given); prints a progress line per run with an ETA and
``RESULT <json>``.

    python tools/benchmark/digits_gan.py                  # the study (docs/studies.md)
    python tools/benchmark/digits_gan.py --quick --out /tmp/q   # end-to-end check
"""
import os
import os.path as osp

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

# The configs this study trains: the one table to edit when a config is renamed.
_VKD = 'configs/vkd/vkd_biggan-diffaug-ch16_resnet18-w32_0.5k_digits-16px-10pct'
CONFIGS = {
    'teacher': 'configs/digits/resnet18-w32_20e_digits.py',
    'fid_classifier': 'configs/digits/resnet18-w8_20e_digits.py',
    'baseline': 'configs/gan/biggan-diffaug-ch16_0.5k_digits-16px-10pct.py',
    'regression': 'configs/vkd/vkd_biggan-diffaug-ch16_resnet18-w32_0.5k_digits-16px-'
    '10pct_regression.py',
    'vkd_nonorm': f'{_VKD}_nonorm.py',
    'vkd_whiten': f'{_VKD}.py',
    'direct_nonorm': f'{_VKD}_direct-nonorm.py',
    'direct_whiten': f'{_VKD}_direct.py',
    'whiten_bs64': f'{_VKD}_bs64.py',
}
CLASSIFIER_SEEDS = dict(teacher=0, fid_classifier=1)
METHODS = ('baseline', 'regression', 'vkd_nonorm', 'vkd_whiten', 'direct_nonorm',
           'direct_whiten', 'whiten_bs64')
LABELS = {
    'baseline': 'DiffAugment baseline',
    'regression': 'teacher regression (KD-DLGAN)',
    'vkd_nonorm': 'VKD head, no normalisation',
    'vkd_whiten': 'VKD head, whitening',
    'direct_nonorm': 'VKD direct, no normalisation',
    'direct_whiten': 'VKD direct, whitening',
    'whiten_bs64': 'VKD head, whitening, batch 64',
}
REFERENCES = ('baseline', 'regression')
# One Holm family (docs/studies.md, fixed before the run): every arm vs the DiffAugment
# baseline; teacher regression is the positive control, the primary comparison is VKD
# direct with whitening (the paper's VKD: an orthogonal projection of D's own feature
# onto whitened teacher targets) vs the baseline. Differences to teacher regression are
# descriptive.
PRIMARY = ('direct_whiten', 'baseline')
FAMILY = [('regression', 'baseline'), ('vkd_nonorm', 'baseline'),
          ('vkd_whiten', 'baseline'), ('direct_nonorm', 'baseline'), PRIMARY,
          ('whiten_bs64', 'baseline')]
DEFAULTS = dict(seeds=10)  # iterations: as configured (500)
KEYS = ('FID', 'precision', 'recall', 'density', 'coverage', 'IS')
PREFIX = 'gen/'
STUDY = dict(
    name='digits_gan',
    configs=CONFIGS,
    labels=LABELS,
    references=REFERENCES,
    metric=PREFIX + 'FID',
    family=FAMILY,
    once=tuple(CLASSIFIER_SEEDS),
    settings=('iters', 'clf_epochs', 'teacher_ckpt', 'fid_ckpt'))


def parse_args(argv=None):
    from study import study_parser
    p = study_parser(
        __doc__,
        STUDY['name'],
        METHODS,
        seeds=DEFAULTS['seeds'],
        quick_help='2 seeds, 4 iterations, 1-epoch classifiers on 10 %% of the data')
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
        '--fid-ckpt',
        default=None,
        help='use this FID classifier checkpoint (CONFIGS["fid_classifier"]) '
        'instead of training one')
    p.add_argument(
        '--grid',
        default=None,
        help='seed-0 sample grids of every method side by side (default '
        '<out>/samples.png; the docs picture on request: --grid '
        'docs/digits_gan_samples.png)')
    args = p.parse_args(argv)
    if args.quick:
        args.seeds, args.iters, args.clf_epochs = 2, 4, 1
    if args.grid is None:
        args.grid = osp.join(args.out, 'samples.png')
    return args


def top1(metrics):
    return f'top-1 {metrics.get("accuracy/top1", 0):.2f} %'


def fid_line(m):
    return (f'FID {m[PREFIX + "FID"]:.3f} P {m[PREFIX + "precision"]:.3f} R '
            f'{m[PREFIX + "recall"]:.3f} IS {m[PREFIX + "IS"]:.3f}')


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
    os.chdir(REPO)
    args = parse_args(argv)  # imports mmkd_ext once: every run is a fork of this
    from study import PairedStudy, mean_sd
    study = PairedStudy(args, **STUDY)
    ckpts = {
        name:
        study.train_once(
            name,
            seed,
            top1,
            given=args.teacher_ckpt if name == 'teacher' else args.fid_ckpt,
            epochs=args.clf_epochs,
            data_fraction=0.1 if args.quick else None)
        for name, seed in CLASSIFIER_SEEDS.items()
    }
    fid_paths = {
        'val_evaluator.feature_extractor.checkpoint': ckpts['fid_classifier'],
        'test_evaluator.feature_extractor.checkpoint': ckpts['fid_classifier']
    }

    def run_kwargs(seed, method):
        opts = dict(fid_paths)
        if method != 'baseline':
            opts['model.teacher.checkpoint'] = ckpts['teacher']
        return dict(iters=args.iters, cfg_options=opts)

    study.run(run_kwargs, fid_line)
    others = {k: study.values(PREFIX + k) for k in KEYS[1:]}
    extra = {
        m: {
            k: '{:.3f} +- {:.3f}'.format(*mean_sd(others[k][m].values())[:2])
            for k in KEYS[1:]
        }
        for m in args.methods
    }
    acc = {
        n: study.once_metric(n, s, 'accuracy/top1')
        for n, s in CLASSIFIER_SEEDS.items()
    }
    it = args.iters or 500

    def top1_of(
            name):  # a classifier given with --teacher-ckpt / --fid-ckpt: not measured
        return '' if acc[name] is None else f' (top-1 {acc[name]:.2f} %)'

    header = (
        f'Digits GAN, paired study: 10 % of the training images (144), 16x16, '
        f'BigGAN width 16, {it} G iterations, {args.seeds} seeds; FID etc. on the '
        f'features of the ResNet-18-w8 digits classifier{top1_of("fid_classifier")} '
        f'against the 360 test images; teacher ResNet-18-w32{top1_of("teacher")}. '
        f'Primary comparison: {LABELS[PRIMARY[0]]} vs {LABELS[PRIMARY[1]]}. FID: '
        f'lower is better.')
    grid = sample_grids(args, args.methods)
    print(f'sample grids (seed 0; {", ".join(args.methods)}): {grid}')
    return study.finish(
        header,
        'FID',
        f'Digits GAN study: 10 % data, {it} G iterations',
        'FID',
        digits=3,
        extra=extra,
        higher_is_better=False,
        payload=dict(
            classifier_top1=acc,
            grid=grid,
            other_metrics={
                k: {
                    m: list(v.values())
                    for m, v in d.items()
                }
                for k, d in others.items()
            }))


if __name__ == '__main__':
    main()
