"""Paired classification study on digits: the shipped KD / VKD / NCKD configs against
the student alone, over many seeds.

Every run trains a config under ``configs/`` through MMEngine's ``Runner``
(``Config.fromfile`` + ``Runner.from_cfg``, as ``tools/train.py``), changed only in the
seed, the paths, the number of epochs and the fraction of the training split
(``study.apply_overrides``); each row of the report can be rerun by hand
with ``tools/train.py CONFIG --cfg-options ...`` (printed with ``--show-commands``).

* teacher: ``CONFIGS['teacher']`` (ResNet-18 at width 32) trained once, seed 0, on the
  whole training split, the config's 20 epochs;
* students (ResNet-18 at width 8): one run per method and seed on ``--data-fraction``
  of the training split (subset drawn with ``subset_seed = seed``) for ``--epochs``:
  the student alone, logit KD, and on top of logit KD: VKD, full NCKD and each NC
  component alone (NC1, NC2, NC3 head).
  Seed ``s`` gives every method the same student initialisation, data order, subset and
  augmentation (``RNGStateHook``), so the methods are compared by **paired**
  differences of ``top-1(method) - top-1(reference)`` against the student alone and
  against logit KD: mean, 95 % interval and p-value of one paired t-test
  (``tools/benchmark/study``), with Holm-adjusted p-values over ``FAMILY`` (logit KD vs
  the student alone, the positive control; VKD, NCKD, NC1, NC2, NC3 vs logit KD).

Results are appended to ``<out>/results.jsonl`` after every run; a restarted study skips
the runs already there. Writes ``<out>/report.md``, ``<out>/report.json`` and the plot
(``--plot``, default ``<out>/paired.png``; ``--plot docs/studies_digits_kd.png`` for
the docs); prints a progress line with an ETA per run and ends with ``RESULT <json>``.

    python tools/benchmark/digits_kd.py --out DIR             # the study, docs/studies.md
    python tools/benchmark/digits_kd.py --methods student kd   # the positive control
    python tools/benchmark/digits_kd.py --quick --out /tmp/q   # end-to-end check
"""
import os
import os.path as osp

from study import classifier_study  # this script's folder is on sys.path

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

# The configs this study trains: the one table to edit when a config is renamed.
CONFIGS = {
    'teacher': 'configs/digits/resnet18-w32_20e_digits.py',
    'student': 'configs/digits/resnet18-w8_20e_digits.py',
    'kd': 'configs/kd/kd_resnet18-w8_resnet18-w32_20e_digits.py',
    'vkd': 'configs/vkd/vkd_resnet18-w8_resnet18-w32_20e_digits.py',
    'nckd': 'configs/nckd/nckd_resnet18-w8_resnet18-w32_20e_digits.py',
    'nc1': 'configs/nckd/nckd_resnet18-w8_resnet18-w32_20e_digits_nc1-only.py',
    'nc2': 'configs/nckd/nckd_resnet18-w8_resnet18-w32_20e_digits_nc2-only.py',
    'nc3': 'configs/nckd/nckd_resnet18-w8_resnet18-w32_20e_digits_nc3-only.py',
}
LABELS = {
    'student': 'student alone',
    'kd': 'logit KD (T=4)',
    'vkd': 'logit KD + VKD',
    'nckd': 'logit KD + NCKD (NC1+NC2+NC3)',
    'nc1': 'logit KD + NC1',
    'nc2': 'logit KD + NC2',
    'nc3': 'logit KD + NC3 head',
}
REFERENCES = ('student', 'kd')
DEFAULT_METHODS = ('student', 'kd', 'vkd', 'nckd', 'nc1', 'nc2', 'nc3')
# The comparisons the study tests, one Holm family (docs/studies.md): logit KD vs the
# student alone (the positive control), then every term added to logit KD (VKD, full
# NCKD and each NC component alone) vs logit KD. The other differences in the report
# (e.g. VKD vs the student alone) are descriptive.
FAMILY = [('kd', 'student'), ('vkd', 'kd'), ('nckd', 'kd'), ('nc1', 'kd'), ('nc2', 'kd'),
          ('nc3', 'kd')]
# The study setting chosen by the positive control (docs/studies.md): the defaults.
DEFAULTS = dict(seeds=10, epochs=20, data_fraction=0.25)
STUDY = classifier_study('digits_kd', CONFIGS, LABELS, REFERENCES, FAMILY)


def parse_args(argv=None):
    from study import classifier_study_parser, parse_classifier_study
    p = classifier_study_parser(__doc__, STUDY, DEFAULT_METHODS, DEFAULTS)
    p.add_argument(
        '--keep-checkpoints',
        action='store_true',
        help='keep every student checkpoint (default: deleted after eval)')
    return parse_classifier_study(p, argv)


def main(argv=None):
    os.chdir(REPO)
    args = parse_args(argv)  # imports mmkd_ext once: every run is a fork of this
    from study import run_classifier_study
    study, teacher_top1 = run_classifier_study(
        args, STUDY, 'student', keep_checkpoints=args.keep_checkpoints)
    header = (f'Digits classification, paired study: student ResNet-18-w8 on '
              f'{args.data_fraction:g} of the 1437 training images (subset seed = '
              f'seed), {args.epochs} epochs, {args.seeds} seeds; teacher ResNet-18-w32 '
              f'(whole training split' +
              (f', top-1 {teacher_top1:.2f} %' if teacher_top1 is not None else '') +
              '); top-1 on the 360 test images (one image = 0.28 points).')
    return study.finish(
        header,
        'top-1 (%)',
        f'Digits KD study: ResNet-18-w8 on {args.data_fraction:g} of the data, '
        f'{args.epochs} epochs',
        'top-1 (points)',
        payload=dict(teacher_top1=teacher_top1))


if __name__ == '__main__':
    main()
