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

The token-matching pilot and its follow-up (docs/studies.md, section "Detection", "The
next setting: a pilot, then 5 seeds"):

* ``--pilot``: PILOT, never a result. Seeds 0-1, the 20-epoch teacher, the nano alone
  and the four token-matching settings ``PILOT_TM`` (weight 4, 1, 0.25, and 4 without
  the decoder term), out dir ``work_dirs/studies/digits_det_pilot``. Every run carries
  ``mmkd_ext.GradNormHook`` (``default_hooks.grad_norm``, first
  ``--grad-norm-iters`` iterations: gradient norm of backbone, neck and decoder, and
  token-matching loss / sum of detection losses, in each run's
  ``vis_data/scalars.json``), summarised per run in the report. The last line printed
  is the selection rule's decision (``select_setting``) with the follow-up command.
* ``--tm-setting NAME``: the 5-seed follow-up with the chosen setting: the nano alone,
  token matching ``NAME`` and VKD, the 20-epoch teacher (give the pilot's with
  ``--teacher-ckpt``), the family of three (VKD vs the nano alone, ``NAME`` vs the
  nano alone, VKD vs ``NAME``), out dir ``work_dirs/studies/digits_det_<NAME>``.
"""
import argparse
import glob
import json
import os
import os.path as osp
import sys

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
    # the pilot's other token-matching settings (docs/studies.md, "The next setting")
    'tm_w1': ('configs/token_matching/'
              'token-matching_vidt-swin-nano_vidt-swin-tiny_12e_digits_w1.py'),
    'tm_w025': ('configs/token_matching/'
                'token-matching_vidt-swin-nano_vidt-swin-tiny_12e_digits_w025.py'),
    'tm_nodec': ('configs/token_matching/'
                 'token-matching_vidt-swin-nano_vidt-swin-tiny_12e_digits_no-decoder.py'),
}
DEFAULT_METHODS = ('baseline', 'vkd', 'token_matching')
METHODS = DEFAULT_METHODS + ('tm_w1', 'tm_w025', 'tm_nodec')
LABELS = {
    'baseline': 'ViDT nano alone',
    'vkd': 'VKD (from Swin-tiny ViDT)',
    'token_matching': 'token matching (from Swin-tiny ViDT)',
    'tm_w1': 'token matching, weight 1 (from Swin-tiny ViDT)',
    'tm_w025': 'token matching, weight 0.25 (from Swin-tiny ViDT)',
    'tm_nodec': 'token matching, no decoder term (from Swin-tiny ViDT)',
}
# The token-matching settings of the pilot and their loss weights (the selection rule
# breaks ties towards the smaller weight).
TM_WEIGHTS = {'token_matching': 4.0, 'tm_w1': 1.0, 'tm_w025': 0.25, 'tm_nodec': 4.0}
PILOT_TM = ('token_matching', 'tm_w1', 'tm_w025', 'tm_nodec')
PILOT = dict(
    seeds=2,
    teacher_epochs=20,
    methods=('baseline', ) + PILOT_TM,
    out='work_dirs/studies/digits_det_pilot',
    grad_norm_iters=100)
FOLLOW_UP_TEACHER_EPOCHS = 20
# gradient-norm groups of the pilot's GradNormHook: the ViDT alone, under a distiller
GROUPS = ('backbone', 'neck', 'decoder')
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


def follow_up_family(tm):
    """The follow-up's Holm family with token-matching setting ``tm``: VKD vs the
    nano alone, ``tm`` vs the nano alone, VKD vs ``tm`` (docs/studies.md)."""
    return [('vkd', 'baseline'), (tm, 'baseline'), ('vkd', tm)]


def _mode_arguments(p):
    g = p.add_mutually_exclusive_group()
    g.add_argument(
        '--pilot',
        action='store_true',
        help='the PILOT of docs/studies.md (never a result): seeds 0-1, nano alone + '
        f'{", ".join(PILOT_TM)}, {PILOT["teacher_epochs"]}-epoch teacher, '
        f'GradNormHook logs, out {PILOT["out"]}; prints the selection rule\'s decision '
        'last')
    g.add_argument(
        '--tm-setting',
        choices=PILOT_TM,
        default=None,
        help='the follow-up with this token-matching setting: nano alone, it and VKD, '
        f'{FOLLOW_UP_TEACHER_EPOCHS}-epoch teacher, the family of three, out '
        'work_dirs/studies/digits_det_<NAME>')


def parse_args(argv=None):
    from study import study_parser
    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    pre = argparse.ArgumentParser(add_help=False)
    _mode_arguments(pre)
    mode, _ = pre.parse_known_args(argv)
    p = study_parser(
        __doc__,
        STUDY['name'],
        METHODS,
        default_methods=DEFAULT_METHODS,
        seeds=DEFAULTS['seeds'],
        quick_help='2 seeds, 1 epoch (one iteration) on 8 train / 4 val images')
    _mode_arguments(p)
    p.add_argument(
        '--grad-norm-iters',
        type=int,
        default=PILOT['grad_norm_iters'],
        help='--pilot: iterations logged by GradNormHook')
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
    if mode.pilot:  # the pilot's design; explicit arguments still win
        p.set_defaults(
            seeds=PILOT['seeds'],
            teacher_epochs=PILOT['teacher_epochs'],
            methods=list(PILOT['methods']),
            out=PILOT['out'])
    elif mode.tm_setting:
        p.set_defaults(
            teacher_epochs=FOLLOW_UP_TEACHER_EPOCHS,
            methods=['baseline', mode.tm_setting, 'vkd'],
            out=f'work_dirs/studies/digits_det_{mode.tm_setting}')
    args = p.parse_args(argv)
    if args.tm_setting and args.tm_setting not in args.methods:
        p.error(f'--tm-setting {args.tm_setting} must be one of --methods')
    if args.pilot and 'baseline' not in args.methods:
        p.error('--pilot compares with the nano alone: --methods needs baseline')
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


def grad_norm_options(method, num_iters):
    """The ``cfg_options`` entry that adds the pilot's ``GradNormHook`` to a run:
    ``default_hooks.grad_norm`` (a new key of the config's ``default_hooks``), groups
    backbone / neck / decoder of the ViDT alone or of the distiller's student
    (``architecture``)."""
    root = '' if method == 'baseline' else 'architecture.'
    return {
        'default_hooks.grad_norm':
        dict(
            type='mmkd_ext.GradNormHook',
            num_iters=int(num_iters),
            prefixes=tuple(root + g for g in GROUPS))
    }


def study_options(args):
    """``PairedStudy`` keyword arguments of the mode: the study, the pilot, or the
    follow-up with ``--tm-setting``."""
    if args.pilot:
        tms = [m for m in PILOT_TM if m in args.methods]
        return dict(
            STUDY,
            name='digits_det_pilot',
            references=('baseline', ),
            family=[(m, 'baseline') for m in tms],
            settings=STUDY['settings'] + ('pilot', 'grad_norm_iters'))
    if args.tm_setting:
        return dict(
            STUDY,
            references=('baseline', args.tm_setting),
            family=follow_up_family(args.tm_setting))
    return STUDY


def select_setting(ap, seeds, settings=PILOT_TM, weights=TM_WEIGHTS, tol=1e-9):
    """The pilot's selection rule (docs/studies.md, "The next setting"): among the
    token-matching ``settings``, the one with the largest mean AP gain over the nano
    alone (``baseline``) across ``seeds``, if it is ahead of the nano alone on every
    seed; ties (within ``tol``) go to the smaller weight.

    Args:
        ap (dict): ``{method: {seed: AP}}``.
    Returns:
        ``(chosen setting or None, rows, reason)``: ``rows`` one dict per setting
        (``gains`` per seed, ``mean``, ``ahead``); ``reason`` a sentence.
    """
    missing = [(m, s) for m in ('baseline', ) + tuple(settings) for s in seeds
               if s not in ap.get(m, {})]
    if missing:
        raise SystemExit(f'selection rule: no AP for {missing} (every pilot run must '
                         'finish first)')
    rows = []
    for m in settings:
        gains = [ap[m][s] - ap['baseline'][s] for s in seeds]
        rows.append(
            dict(
                method=m,
                weight=weights[m],
                gains=gains,
                mean=sum(gains) / len(gains),
                ahead=all(g > 0 for g in gains)))
    ahead = [r for r in rows if r['ahead']]
    if not ahead:
        return None, rows, ('no token-matching setting is ahead of the nano alone on '
                            'every pilot seed: no 5-seed control is claimed; the '
                            'loss / gradient logs are the evidence')
    best = max(r['mean'] for r in ahead)
    tied = [r for r in ahead if r['mean'] >= best - tol]
    lightest = min(r['weight'] for r in tied)
    tied = [r for r in tied if r['weight'] == lightest]
    if len(tied) > 1:
        names = ', '.join(r['method'] for r in tied)
        return None, rows, (f'undecided: {names} tie at the same weight {lightest:g} '
                            f'(mean gain {best:+.2f} AP); the rule does not break this '
                            'tie')
    r = tied[0]
    per_seed = ', '.join(f'seed {s} {g:+.1f}' for s, g in zip(seeds, r['gains']))
    return r['method'], rows, (f'{r["method"]} ({LABELS[r["method"]]}): mean gain '
                               f'{r["mean"]:+.2f} AP over the nano alone ({per_seed})')


def read_grad_norm_log(work_dir):
    """The ``GradNormHook`` records (``grad_norm_*`` / loss sums per iteration) of the
    newest ``vis_data/scalars.json`` under ``work_dir`` that has them."""
    paths = sorted(
        glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')),
        key=osp.getmtime,
        reverse=True)
    for path in paths:
        with open(path) as f:
            recs = [json.loads(line) for line in f if line.strip()]
        recs = [r for r in recs if 'grad_norm_all' in r]
        if recs:
            return recs
    return []


def diagnostics_table(study, methods, seeds):
    """Markdown table of each pilot run's GradNormHook log: token-matching loss /
    sum of detection losses at the first logged iteration and its mean over the
    logged ones, and the mean gradient norm of backbone, neck, decoder and of all
    trainable parameters (before clipping)."""

    def fmt(v):
        return '-' if v is None else f'{v:.3g}'

    lines = [
        '| method | seed | iters | TM / det. loss (iter 1) | TM / det. loss (mean) | ' +
        ' | '.join(f'grad norm {g} (mean)' for g in GROUPS + ('all', )) + ' |',
        '|---|---|---|---|---|' + '---|' * (len(GROUPS) + 1)
    ]
    for m in methods:
        for s in seeds:
            recs = read_grad_norm_log(study.work_dir(m, s))
            if not recs:
                lines.append(f'| {m} | {s} | 0 | no GradNormHook log |' + ' |' *
                             (len(GROUPS) + 2))
                continue

            def mean(key):
                vals = [r[key] for r in recs if key in r]
                return sum(vals) / len(vals) if vals else None

            first = recs[0].get('distill_task_ratio')
            lines.append(f'| {m} | {s} | {len(recs)} | {fmt(first)} | '
                         f'{fmt(mean("distill_task_ratio"))} | ' + ' | '.join(
                             fmt(mean(f'grad_norm_{g}'))
                             for g in GROUPS + ('all', )) + ' |')
    return '\n'.join(lines)


def main(argv=None):
    os.chdir(REPO)
    args = parse_args(argv)  # imports mmkd_ext once: every run is a fork of this
    from study import PairedStudy, mean_sd
    study = PairedStudy(args, **study_options(args))
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

    def run_kwargs(seed, method):
        options = dict(data)
        if args.pilot:
            options.update(grad_norm_options(method, args.grad_norm_iters))
        return dict(
            epochs=args.epochs,
            teacher_ckpt=None if method == 'baseline' else teacher_ckpt,
            cfg_options=options)

    study.run(run_kwargs, ap_line)
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
    pilot = ('PILOT (not a result; docs/studies.md, "The next setting"): '
             if args.pilot else '')
    header = (f'{pilot}Digits detection, paired study: ViDT Swin-nano students, '
              f'{args.epochs} epochs on {args.num_train} images (64x64, 1-3 digits), '
              f'{args.seeds} seeds, COCO bbox AP on {args.num_val} val images; teacher '
              f'ViDT Swin-tiny, {args.teacher_epochs} epochs' +
              (f', AP {t_ap:.1f}' if t_ap is not None else '') + '.')
    report = study.finish(
        header,
        'AP', f'{pilot[:5]}{": " if pilot else ""}Digits detection study: ViDT nano, '
        f'{args.epochs} epochs',
        'AP (points)',
        digits=1,
        extra=extra,
        payload=dict(teacher_ap=t_ap, pilot=bool(args.pilot)))
    if args.pilot and report is not None:
        finish_pilot(args, study, teacher_ckpt)
    return report


def finish_pilot(args, study, teacher_ckpt):
    """Append the GradNormHook summary and the selection rule's decision to the
    pilot's report (``<out>/report.md``, ``<out>/pilot_decision.json``); print them,
    the decision last."""
    seeds = list(range(args.seeds))
    settings = [m for m in PILOT_TM if m in args.methods]
    table = diagnostics_table(study, args.methods, seeds)
    ap = study.values(METRIC)
    chosen, rows, reason = select_setting(ap, seeds, settings)
    gains = '\n'.join(f'| {r["method"]} | {r["weight"]:g} | ' +
                      ', '.join(f'{g:+.1f}' for g in r['gains']) +
                      f' | {r["mean"]:+.2f} | {"yes" if r["ahead"] else "no"} |'
                      for r in rows)
    command = (f'python tools/benchmark/digits_det.py --tm-setting {chosen} '
               f'--teacher-ckpt {osp.relpath(teacher_ckpt, REPO)}' if chosen else None)
    decision = 'PILOT DECISION (selection rule of docs/studies.md): ' + (
        f'{reason}; follow-up: {command}' if chosen else reason)
    text = (f'\n## PILOT diagnostics: first {args.grad_norm_iters} iterations '
            f'(GradNormHook; gradients before clipping)\n\n{table}\n\n'
            f'## PILOT selection rule\n\n| setting | weight | AP gain per seed '
            f'({", ".join(map(str, seeds))}) | mean | ahead on every seed |\n'
            f'|---|---|---|---|---|\n{gains}\n\n{decision}\n')
    with open(osp.join(args.out, 'report.md'), 'a') as f:
        f.write(text)
    with open(osp.join(args.out, 'pilot_decision.json'), 'w') as f:
        json.dump(
            dict(chosen=chosen, reason=reason, rows=rows, follow_up=command), f, indent=1)
    print(text.rstrip('\n').rsplit('\n', 1)[0], flush=True)
    print(decision, flush=True)


if __name__ == '__main__':
    main()
