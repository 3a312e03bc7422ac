"""Paired study of the VKD paper's own classification claim, small: a DeiT student
distilled from a CNN teacher (VKD Table 6), on the embedded digits.

Student: the conv-stem DeiT of
``configs/vkd/vkd_deit-tiny-convstem_regnety160_300e_in1k.py`` made small
(``configs/vkd/vkd_deit-tiny-convstem-mini_resnet18-w32_20e_digits-16px.py``: digits
at 16 px with a stride-4 stem = 16 patch tokens, 4 blocks of 64-d, 20 epochs; its
header lists every change). Teacher: the digits CNN (CIFAR ResNet-18 width 32,
``CONFIGS['teacher']``), trained once (seed 0, whole training split) or given with
``--teacher-ckpt``.

Arms (one config each, ``CONFIGS``): the student alone; DeiT's distillation-token KD
(class-token CE + KL of the distillation token, T = 1: the paper's baseline and the
positive control against the student alone); and, on top of it, the four rows of
Table 6: linear or orthogonal projector, teacher feature without normalisation or
standardised. Every run is ``Config.fromfile`` + ``Runner.from_cfg`` of its config
changed only in seed, paths, epochs and the fraction of the training split
(``study.apply_overrides``; ``--show-commands`` prints each run's ``tools/train.py``
command). Paired seeds: seed ``s`` gives every arm the same student init, data subset,
order and augmentation.

Statistics (``tools/benchmark/study``): per comparison the mean paired difference of
top-1, its 95 % interval and p from one paired t-test; Holm-adjusted p over ``FAMILY``.
The primary comparison, fixed before the runs (docs/studies.md): orthogonal +
standardisation vs linear + no normalisation.

    python tools/benchmark/digits_deit.py --methods alone distill   # choose the setting
    python tools/benchmark/digits_deit.py --out DIR                 # the study
    python tools/benchmark/digits_deit.py --quick --out /tmp/q      # end-to-end check
"""
import os
import os.path as osp

from study import classifier_study  # this script's folder is on sys.path

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
_LEAF = 'configs/vkd/vkd_deit-tiny-convstem-mini_resnet18-w32_20e_digits-16px'
# The configs this study trains: the one table to edit when a config is renamed.
CONFIGS = {
    'teacher': 'configs/digits/resnet18-w32_20e_digits.py',
    'alone': f'{_LEAF}_student-alone.py',
    'distill': f'{_LEAF}_distill-token.py',
    'lin_none': f'{_LEAF}_linear-nonorm.py',
    'lin_std': f'{_LEAF}_linear-std.py',
    'orth_none': f'{_LEAF}_orth-nonorm.py',
    'orth_std': f'{_LEAF}.py',
}
LABELS = {
    'alone': 'DeiT student alone',
    'distill': 'distillation token (DeiT KD)',
    'lin_none': '+ VKD linear, no norm',
    'lin_std': '+ VKD linear, standardised',
    'orth_none': '+ VKD orthogonal, no norm',
    'orth_std': '+ VKD orthogonal, standardised',
}
REFERENCES = ('alone', 'distill', 'lin_none')
DEFAULT_METHODS = ('alone', 'distill', 'lin_none', 'lin_std', 'orth_none', 'orth_std')
# One Holm family (docs/studies.md): the positive control, the primary comparison
# (Table 6's last row against its first), and each Table 6 row against the
# distillation-token baseline it is added to.
PRIMARY = ('orth_std', 'lin_none')
FAMILY = [('distill', 'alone'), PRIMARY, ('lin_none', 'distill'), ('lin_std', 'distill'),
          ('orth_none', 'distill'), ('orth_std', 'distill')]
# The setting chosen with the positive control alone (docs/studies.md): the defaults.
DEFAULTS = dict(seeds=10, epochs=20, data_fraction=0.25)
STUDY = classifier_study('digits_deit', CONFIGS, LABELS, REFERENCES, FAMILY)


def parse_args(argv=None):
    from study import classifier_study_parser, parse_classifier_study
    return parse_classifier_study(
        classifier_study_parser(__doc__, STUDY, DEFAULT_METHODS, DEFAULTS), argv)


def main(argv=None):
    os.chdir(REPO)
    args = parse_args(argv)  # imports mmkd_ext once: every run is a fork of this
    from study import run_classifier_study
    study, teacher_top1 = run_classifier_study(args, STUDY, 'alone')
    header = (f'Digits DeiT study (VKD Table 6, small): conv-stem DeiT (4 x 64-d, 16 '
              f'tokens) on {args.data_fraction:g} of the 1437 training images (subset '
              f'seed = seed), {args.epochs} epochs, {args.seeds} seeds; teacher CIFAR '
              f'ResNet-18-w32 (whole training split' +
              (f', top-1 {teacher_top1:.2f} %' if teacher_top1 is not None else '') +
              f'); top-1 on the 360 test images (one image = 0.28 points). Primary '
              f'comparison: {LABELS[PRIMARY[0]]} vs {LABELS[PRIMARY[1]]}.')
    return study.finish(
        header,
        'top-1 (%)',
        f'Digits DeiT study: DeiT student on {args.data_fraction:g} of the data, '
        f'{args.epochs} epochs',
        'top-1 (points)',
        payload=dict(teacher_top1=teacher_top1, primary=list(PRIMARY)))


if __name__ == '__main__':
    main()
