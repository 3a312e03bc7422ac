"""Paired detection study on the digits COCO set: ViDT Swin-nano alone, with VKD and
with token matching, over several seeds.

Every run trains a config under ``configs/`` through MMEngine's ``Runner`` (as
``tools/train.py``), changed only in the seed, the paths (data root, work dir, teacher
checkpoint) and the number of epochs (``study.apply_overrides``):

* the digits COCO set is built once (``tools/dataset_converters/make_digits_coco.py``;
  default 400 train / 200 val images of 64x64 with 1-3 digits);
* ``CONFIGS['teacher']`` (ViDT Swin-tiny) is trained once, seed 0, ``--teacher-epochs``;
* per seed: the baseline Swin-nano, VKD from that teacher and token matching (ViDT's
  own KD, the baseline for VKD) from the same teacher, ``--epochs`` each, evaluated by
  MMDet's ``CocoMetric`` (bbox AP) on the val split.

Seed ``s`` gives the three students the same initial weights, data order and dropout /
drop-path stream (``RNGStateHook``), so they are compared by paired AP differences
against the baseline and against token matching: mean, 95 % interval and p-value of one
paired t-test, with Holm-adjusted p-values over ``FAMILY`` (``tools/benchmark/study``).
Results are appended per run to ``<out>/results.jsonl`` (a restarted study resumes);
writes ``<out>/report.{md,json}`` and the plot (``--plot``, default
``<out>/paired.png``; ``--plot docs/studies_digits_det.png`` for the docs); prints a
progress line per run with an ETA and ``RESULT <json>``.

    python tools/benchmark/digits_det.py                   # the study (docs/studies.md)
    python tools/benchmark/digits_det.py --quick --out /tmp/q    # end-to-end check
"""
import os
import os.path as osp

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

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
# The comparisons the study tests, one Holm family (docs/studies.md): each KD vs the
# nano alone, and VKD vs token matching (ViDT's own KD).
FAMILY = [('vkd', 'baseline'), ('token_matching', 'baseline'), ('vkd', 'token_matching')]
DEFAULTS = dict(seeds=5, epochs=5, teacher_epochs=7, num_train=400, num_val=200)
METRIC = 'coco/bbox_mAP'
STUDY = dict(
    name='digits_det',
    configs=CONFIGS,
    labels=LABELS,
    references=REFERENCES,
    metric=METRIC,
    family=FAMILY,
    scale=100.0,
    settings=('epochs', 'teacher_epochs', 'teacher_ckpt', 'num_train', 'num_val'))


def parse_args(argv=None):
    from study import study_parser
    p = study_parser(
        __doc__,
        STUDY['name'],
        METHODS,
        seeds=DEFAULTS['seeds'],
        quick_help='2 seeds, 1 epoch (one iteration) on 8 train / 4 val images')
    p.add_argument(
        '--epochs',
        type=int,
        default=DEFAULTS['epochs'],
        help='epochs of every student run')
    p.add_argument('--teacher-epochs', type=int, default=DEFAULTS['teacher_epochs'])
    p.add_argument('--num-train', type=int, default=DEFAULTS['num_train'])
    p.add_argument('--num-val', type=int, default=DEFAULTS['num_val'])
    p.add_argument(
        '--data-root',
        default=None,
        help='digits COCO set (default data/digits_coco_<train>_<val>; '
        'built if missing)')
    args = p.parse_args(argv)
    if args.quick:
        args.seeds, args.epochs, args.teacher_epochs = 2, 1, 1
        args.num_train, args.num_val = 8, 4
    if args.data_root is None:
        args.data_root = f'data/digits_coco_{args.num_train}_{args.num_val}'
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


def ap_line(m):
    return f'AP {100 * m[METRIC]:.1f} AP50 {100 * m.get("coco/bbox_mAP_50", 0):.1f}'


def _prepare_digits_coco():
    """``prepare_digits_coco`` of ``tools/dataset_converters/make_digits_coco.py``, loaded
    by path: ``tools/`` is a folder of scripts, not a package."""
    import importlib.util
    path = osp.join(REPO, 'tools', 'dataset_converters', 'make_digits_coco.py')
    spec = importlib.util.spec_from_file_location('make_digits_coco', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.prepare_digits_coco


def main(argv=None):
    os.chdir(REPO)
    args = parse_args(argv)  # imports mmkd_ext once: every run is a fork of this
    from study import PairedStudy, mean_sd
    study = PairedStudy(args, **STUDY)
    root = args.data_root.rstrip('/')
    # reused only when its manifest matches --num-train / --num-val, else rebuilt
    _prepare_digits_coco()(
        root, args.num_train, args.num_val, log=lambda msg: print(msg, flush=True))
    data = data_options(root)
    teacher_ckpt = study.train_once(
        'teacher',
        0,
        ap_line,
        given=args.teacher_ckpt,
        epochs=args.teacher_epochs,
        cfg_options=data)
    study.run(
        lambda seed, method: dict(
            epochs=args.epochs,
            teacher_ckpt=None if method == 'baseline' else teacher_ckpt,
            cfg_options=data), ap_line)
    ap50, ap75 = study.values('coco/bbox_mAP_50'), study.values('coco/bbox_mAP_75')
    extra = {
        m: {
            'AP50': '{:.1f} +- {:.1f}'.format(*mean_sd(ap50[m].values())[:2]),
            'AP75': '{:.1f} +- {:.1f}'.format(*mean_sd(ap75[m].values())[:2])
        }
        for m in args.methods
    }
    t_ap = study.once_metric('teacher', 0, METRIC)
    t_ap = None if t_ap is None else 100 * t_ap
    header = (f'Digits detection, paired study: ViDT Swin-nano students, '
              f'{args.epochs} epochs on {args.num_train} images (64x64, 1-3 digits), '
              f'{args.seeds} seeds, COCO bbox AP on {args.num_val} val images; teacher '
              f'ViDT Swin-tiny, {args.teacher_epochs} epochs' +
              (f', AP {t_ap:.1f}' if t_ap is not None else '') + '.')
    return study.finish(
        header,
        'AP',
        f'Digits detection study: ViDT nano, {args.epochs} epochs',
        'AP (points)',
        digits=1,
        extra=extra,
        payload=dict(teacher_ap=t_ap))


if __name__ == '__main__':
    main()
