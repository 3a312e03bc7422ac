"""The real-data classification study: CNN teacher -> small ViT student on digits.

scikit-learn's bundled handwritten digits (``mmpretrain.DigitsDataset``: 1437 train /
360 test real scans, by default at their native 8x8 resolution), cross-architecture like the VKD paper's
DeiT <- RegNet setting:

* teacher: WRN-16-2 (our ``CIFARWideResNet``, 128-d penultimate feature), trained once;
* student: an MMPretrain ``VisionTransformer`` with a custom tiny arch (64-d, 2 layers,
  4 heads, patch 2 at 8x8 = 16 tokens), class-token feature -> linear head, trained from scratch per seed.

Methods (all add their terms to the student's cross-entropy; none uses logit KD unless
named, so each row isolates one transfer mechanism):

=============== ==========================================================================
student         the student alone
kd              Hinton KD, KL at temperature 4, weight 1
linear          FitNets-style: linear projector 64 -> 128, L2 to the raw teacher feature
vkd             VKD: orthogonal projector (default 'polar' map) + teacher standardised
                per sample, smooth L1, weight 1
vkd_nonorm      VKD without the teacher normalisation
vkd_expm        VKD with the paper's matrix-exponential parametrisation
nckd            NC1 prototype alignment + NC2 structure transfer + NC3 prototype head
                (online teacher prototypes; orthogonal projector 64 -> 128 in the head)
vkd_nckd        NCKD, plus the VKD loss on the NC3 head's orthogonal projection
=============== ==========================================================================

For each student: top-1 on the test split, NC metrics of its penultimate features on the
training split (NC1 within-class variability, NC2 ETF error, NC3 self-duality; lower is
more collapsed), and the wall time of its training run. Writes ``results.md``,
``results.json`` and ``results.png`` under ``--out``, prints the table and a final line
``RESULT <json>``. Everything runs in this process through MMEngine's ``Runner`` with the
same config machinery as ``tools/train.py``.

Cost (2 CPU cores, 1 torch thread): 12-30 s per student run on a quiet machine, about
2.5 min per seed of the eight methods, about 15 min for ``--seeds 5`` plus the teacher
(the README's run took 37 min because five other jobs shared the cores).

    python tools/benchmark/digits_kd.py --seeds 5            # the README numbers
    python tools/benchmark/digits_kd.py --seeds 1 --epochs 1 --teacher-epochs 1 \
        --subset-ratio 0.1                                   # a smoke run
"""
import argparse
import copy
import json
import logging
import os
import os.path as osp
import statistics
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import torch  # noqa: E402

import mmkd_ext  # noqa: E402,F401
from mmengine.config import Config  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

METHODS = ('student', 'kd', 'linear', 'vkd', 'vkd_nonorm', 'vkd_expm', 'nckd',
           'vkd_nckd')
LABELS = {
    'student': 'student alone', 'kd': 'logit KD (T=4)',
    'linear': 'linear projector (FitNets)', 'vkd': 'VKD (orthogonal + standardise)',
    'vkd_nonorm': 'VKD, no normalisation', 'vkd_expm': 'VKD, matrix-exp map',
    'nckd': 'NCKD (NC1 + NC2 + NC3)', 'vkd_nckd': 'VKD + NCKD'
}
D_S, D_T, NUM_CLASSES = 64, 128, 10


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--seeds', type=int, default=5, help='student seeds 0..N-1')
    p.add_argument('--epochs', type=int, default=20, help='student epochs')
    p.add_argument('--teacher-epochs', type=int, default=20)
    p.add_argument('--batch-size', type=int, default=32)
    p.add_argument('--img-size', type=int, default=8,
                   help='8 = the scans\' native resolution (patch 2); 16 uses patch 4')
    p.add_argument('--subset-ratio', type=float, default=None,
                   help='train on a seeded fraction of the training split')
    p.add_argument('--methods', nargs='+', default=list(METHODS),
                   choices=list(METHODS))
    p.add_argument('--out', default='work_dirs/digits_kd')
    p.add_argument('--threads', type=int, default=1,
                   help='torch intra-op threads (1: these tiny models do not gain '
                   'from more, and a shared machine loses a lot to oversubscription)')
    return p.parse_args(argv)


# ----------------------------------------------------------------- configs
def data_cfg(args, augment):
    """Digits loaders; ``augment`` adds a random shift (the CNN teacher's recipe; the
    ViT student, with learned position embeddings, trains better without it)."""
    train_pipeline = [dict(type='mmpretrain.PackInputs')]
    if augment:
        train_pipeline.insert(0, dict(type='mmpretrain.RandomCrop',
                                      crop_size=args.img_size,
                                      padding=max(1, args.img_size // 8)))
    train = dict(type='mmpretrain.DigitsDataset', split='train', img_size=args.img_size,
                 pipeline=train_pipeline)
    if args.subset_ratio is not None:
        train.update(subset_ratio=args.subset_ratio, subset_seed=0)
    return dict(
        train_dataloader=dict(
            batch_size=args.batch_size, num_workers=0, dataset=train,
            sampler=dict(type='DefaultSampler', shuffle=True)),
        val_dataloader=dict(
            batch_size=256, num_workers=0,
            dataset=dict(type='mmpretrain.DigitsDataset', split='test',
                         img_size=args.img_size,
                         pipeline=[dict(type='mmpretrain.PackInputs')]),
            sampler=dict(type='DefaultSampler', shuffle=False)),
        val_evaluator=dict(type='mmpretrain.Accuracy', topk=(1, )),
        val_cfg=dict(),
    )


# pixel statistics of the digits scans (0..255 scale; the same at every img_size)
MEAN, STD = 77.85, 95.85
PREPROCESSOR = dict(num_classes=NUM_CLASSES, mean=[MEAN] * 3, std=[STD] * 3,
                    to_rgb=False)


def teacher_model():
    return dict(
        _scope_='mmpretrain', type='ImageClassifier',
        backbone=dict(type='CIFARWideResNet', depth=16, widen_factor=2),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=NUM_CLASSES, in_channels=D_T))


def student_model(img_size, head=None):
    return dict(
        _scope_='mmpretrain', type='ImageClassifier',
        backbone=dict(
            type='VisionTransformer',
            arch=dict(embed_dims=D_S, num_layers=2, num_heads=4,
                      feedforward_channels=2 * D_S),
            img_size=img_size, patch_size=2 if img_size <= 8 else 4,
            out_type='cls_token', drop_rate=0.0,
            init_cfg=[dict(type='TruncNormal', layer='Linear', std=0.02)]),
        neck=None,
        head=head or dict(type='LinearClsHead', num_classes=NUM_CLASSES,
                          in_channels=D_S))


def runtime_cfg(args, work_dir, name, seed, epochs, lr, optimizer='AdamW'):
    opt = dict(type='AdamW', lr=lr, weight_decay=0.05) if optimizer == 'AdamW' \
        else dict(type='SGD', lr=lr, momentum=0.9, weight_decay=5e-4)
    return dict(
        work_dir=work_dir,
        experiment_name=name,
        default_scope='mmpretrain',
        log_level='WARNING',
        default_hooks=dict(
            timer=dict(type='IterTimerHook'),
            logger=dict(type='LoggerHook', interval=10 ** 6),
            param_scheduler=dict(type='ParamSchedulerHook'),
            checkpoint=dict(type='CheckpointHook', interval=10 ** 6, save_last=True),
            sampler_seed=dict(type='DistSamplerSeedHook')),
        env_cfg=dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo')),
        randomness=dict(seed=seed, deterministic=False),
        optim_wrapper=dict(optimizer=opt),
        param_scheduler=dict(type='CosineAnnealingLR', by_epoch=True, T_max=epochs,
                             convert_to_iter_based=True),
        # validation once, after training (called by this script)
        train_cfg=dict(by_epoch=True, max_epochs=epochs, val_interval=10 ** 6),
    )


def distill_cfg(method, teacher_ckpt, run_name, img_size):
    """The MMRazor algorithm of one method (student = the tiny ViT)."""
    bank = dict(type='PrototypeBank', name=f'digits_kd_{run_name}',
                num_classes=NUM_CLASSES, feat_dim=D_T, mode='online', momentum=None)
    student = student_model(img_size)
    s_rec = dict(feat=dict(type='ModuleInputs', source='head.fc'),
                 logits=dict(type='ModuleOutputs', source='head.fc'))
    t_rec = dict(feat=dict(type='ModuleOutputs', source='neck'),
                 logits=dict(type='ModuleOutputs', source='head.fc'))
    connectors, losses, mappings = {}, {}, {}
    feat_s = dict(from_student=True, recorder='feat', data_idx=0)
    feat_t = dict(from_student=False, recorder='feat', data_idx=0)

    def vkd(param='polar', norm=True, on_head_projector=False):
        if not on_head_projector:
            connectors['proj'] = dict(type='OrthogonalConnector', in_channels=D_S,
                                      out_channels=D_T, parametrization=param)
        if norm:
            connectors['std'] = dict(type='FeatureStandardizer', mode='sample')
        losses['loss_vkd'] = dict(type='VKDLoss', loss_type='smooth_l1', beta=1.0,
                                  loss_weight=1.0)
        preds_s = dict(from_student=True, recorder='proj') if on_head_projector \
            else dict(feat_s, connector='proj')
        mappings['loss_vkd'] = dict(
            preds_S=preds_s, preds_T=dict(feat_t, connector='std') if norm else feat_t)

    if method == 'kd':
        losses['loss_kd'] = dict(type='KLDivergence', tau=4, loss_weight=1.0)
        mappings['loss_kd'] = dict(
            preds_S=dict(from_student=True, recorder='logits'),
            preds_T=dict(from_student=False, recorder='logits'))
    elif method == 'linear':
        connectors['proj'] = dict(type='LinearConnector', in_channels=D_S,
                                  out_channels=D_T)
        losses['loss_hint'] = dict(type='VKDLoss', loss_type='l2', loss_weight=1.0)
        mappings['loss_hint'] = dict(preds_S=dict(feat_s, connector='proj'),
                                     preds_T=feat_t)
    elif method == 'vkd':
        vkd()
    elif method == 'vkd_nonorm':
        vkd(norm=False)
    elif method == 'vkd_expm':
        vkd(param='matrix_exp')
    elif method in ('nckd', 'vkd_nckd'):
        student['head'] = dict(
            type='NC3Head', num_classes=NUM_CLASSES, in_channels=D_S, bank=bank,
            projector=dict(type='OrthogonalConnector', in_channels=D_S,
                           out_channels=D_T),
            scale=16.0, loss=dict(type='CrossEntropyLoss', loss_weight=1.0))
        s_rec = dict(proj=dict(type='ModuleOutputs', source='head.projector'),
                     labels=dict(type='ModuleInputs', source='head.loss_module'))
        labels = dict(from_student=True, recorder='labels', data_idx=1)
        proj = dict(from_student=True, recorder='proj')
        losses.update(
            bank_coverage=bank,
            loss_nc1=dict(type='NC1AlignLoss', bank=bank, mode='contrastive',
                          temperature=0.1, loss_weight=1.0),
            loss_nc2=dict(type='NC2StructureLoss', teacher_means='batch',
                          loss_weight=5.0))
        mappings.update(
            bank_coverage=dict(preds_T=feat_t, labels=labels),
            loss_nc1=dict(preds_S=proj, labels=labels),
            loss_nc2=dict(preds_S=proj, labels=labels, preds_T=feat_t))
        if method == 'vkd_nckd':
            vkd(on_head_projector=True)
    else:
        raise ValueError(f'unknown method {method!r}')
    return dict(
        _scope_='mmrazor', type='StrictTeacherDistill',
        data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor', **PREPROCESSOR),
        architecture=student, teacher=teacher_model(), teacher_ckpt=teacher_ckpt,
        distiller=dict(type='ConfigurableDistiller', student_recorders=s_rec,
                       teacher_recorders=t_rec, connectors=connectors,
                       distill_losses=losses, loss_forward_mappings=mappings))


# ----------------------------------------------------------------- running
def run(cfg_dict):
    """Train, validate once; return (runner, top-1, seconds of training)."""
    cfg = Config(copy.deepcopy(cfg_dict))
    runner = Runner.from_cfg(cfg)
    start = time.perf_counter()
    runner.train()
    seconds = time.perf_counter() - start
    metrics = runner.val_loop.run()
    return runner, float(metrics['accuracy/top1']), seconds


@torch.no_grad()
def nc_of(classifier, args):
    """NC metrics of a trained classifier's penultimate features (training split)."""
    from mmkd_ext.datasets.digits import digits_split_indices, load_digits_arrays
    from mmkd_ext.models.utils.neural_collapse import nc_metrics
    arrays, all_labels = load_digits_arrays(args.img_size)
    idx = digits_split_indices('train')
    imgs = torch.from_numpy(arrays[idx]).permute(0, 3, 1, 2).float()
    labels = torch.from_numpy(all_labels[idx])
    x = (imgs - MEAN) / STD
    classifier.eval()
    feats = classifier.extract_feat(x)  # backbone (+ neck)
    head = classifier.head
    # the classifier's input and weights: for NC3Head the projected feature g(h) and
    # the prototype weights, for a linear head the penultimate feature and fc.weight
    feats, weight = head.pre_logits(feats), head.fc.weight
    m = nc_metrics(feats, labels, weight, NUM_CLASSES)
    return dict(nc1=m['nc1'], nc2=m['nc2_etf_error'], nc3=m['nc3_self_duality'])


def mean_std(values):
    if len(values) == 1:
        return values[0], 0.0
    return statistics.mean(values), statistics.stdev(values)


def write_outputs(args, teacher, rows, out):
    os.makedirs(out, exist_ok=True)
    lines = [
        f'Digits (1437 train / 360 test, {args.img_size}x{args.img_size}), teacher '
        f'WRN-16-2 top-1 {teacher["top1"]:.2f} ({teacher["seconds"]:.0f} s); student '
        f'ViT (64-d, 2 layers, 16 patches), {args.epochs} epochs, {args.seeds} seed(s), '
        f'mean +- std. NC metrics on the training split (lower = more collapsed).',
        '',
        '| method | top-1 (%) | NC1 | NC2 (ETF error) | NC3 (self-duality) | time / run (s) |',
        '|---|---|---|---|---|---|',
    ]
    for method, r in rows.items():
        acc_m, acc_s = mean_std(r['top1'])
        cells = [f'{LABELS[method]}', f'{acc_m:.2f} +- {acc_s:.2f}']
        for key in ('nc1', 'nc2', 'nc3'):
            m, s = mean_std(r[key])
            cells.append(f'{m:.3f} +- {s:.3f}')
        cells.append(f'{statistics.mean(r["seconds"]):.1f}')
        lines.append('| ' + ' | '.join(cells) + ' |')
    table = '\n'.join(lines)
    with open(osp.join(out, 'results.md'), 'w') as f:
        f.write(table + '\n')
    summary = dict(teacher=teacher, args=vars(args), methods=rows)
    with open(osp.join(out, 'results.json'), 'w') as f:
        json.dump(summary, f, indent=1)
    plot(rows, osp.join(out, 'results.png'), args)
    return table, summary


def plot(rows, path, args):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    names = list(rows)
    means = [mean_std(rows[m]['top1'])[0] for m in names]
    stds = [mean_std(rows[m]['top1'])[1] for m in names]
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.bar(range(len(names)), means, yerr=stds, capsize=4, color='tab:blue')
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels([LABELS[m] for m in names], rotation=30, ha='right',
                       fontsize=8)
    lo = min(m - s for m, s in zip(means, stds))
    ax.set_ylim(max(0, lo - 3), min(100, max(means) + 2))
    ax.set_ylabel('test top-1 (%)')
    ax.set_title(f'CNN -> ViT distillation on digits ({args.seeds} seed(s), '
                 f'{args.epochs} epochs)')
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    logging.getLogger('mmengine').setLevel(logging.WARNING)
    out = osp.abspath(args.out)
    runs_dir = osp.join(out, 'runs')
    total_start = time.perf_counter()

    name = 'teacher'
    cfg = dict(model=dict(data_preprocessor=dict(
        type='mmpretrain.ClsDataPreprocessor', **PREPROCESSOR), **teacher_model()))
    cfg.update(data_cfg(args, augment=True))
    cfg.update(runtime_cfg(args, osp.join(runs_dir, name), f'digits_kd_{name}', 0,
                           args.teacher_epochs, 0.05, optimizer='SGD'))
    runner, top1, seconds = run(cfg)
    teacher_ckpt = osp.join(runs_dir, name, f'epoch_{args.teacher_epochs}.pth')
    teacher = dict(top1=top1, seconds=seconds, **nc_of(runner.model, args))
    del runner
    print(f'teacher: top-1 {top1:.2f} in {seconds:.1f} s', flush=True)

    rows = {m: dict(top1=[], nc1=[], nc2=[], nc3=[], seconds=[])
            for m in args.methods}
    for seed in range(args.seeds):
        for method in args.methods:
            name = f'{method}_seed{seed}'
            if method == 'student':
                model = dict(data_preprocessor=dict(
                    type='mmpretrain.ClsDataPreprocessor', **PREPROCESSOR),
                    **student_model(args.img_size))
            else:
                model = distill_cfg(method, teacher_ckpt, name, args.img_size)
            cfg = dict(model=model)
            cfg.update(data_cfg(args, augment=False))
            cfg.update(runtime_cfg(args, osp.join(runs_dir, name),
                                   f'digits_kd_{name}', seed, args.epochs, 1e-3))
            if method != 'student':
                cfg['default_scope'] = 'mmrazor'
                cfg['find_unused_parameters'] = True
            cfg['default_hooks']['checkpoint'] = dict(
                type='CheckpointHook', interval=10 ** 6, save_last=False)
            runner, top1, seconds = run(cfg)
            student = runner.model.architecture if method != 'student' \
                else runner.model
            metrics = nc_of(student, args)
            del runner
            r = rows[method]
            r['top1'].append(top1)
            r['seconds'].append(seconds)
            for k, v in metrics.items():
                r[k].append(v)
            print(f'seed {seed} {method:<11} top-1 {top1:6.2f}  nc1 {metrics["nc1"]:.3f}'
                  f'  nc2 {metrics["nc2"]:.3f}  nc3 {metrics["nc3"]:.3f}  '
                  f'{seconds:5.1f} s', flush=True)
        # partial results after every seed (a long study can be stopped early)
        done = {m: r for m, r in rows.items() if len(r['top1']) == seed + 1}
        write_outputs(argparse.Namespace(**{**vars(args), 'seeds': seed + 1}),
                      teacher, done, out)

    table, summary = write_outputs(args, teacher, rows, out)
    summary['total_seconds'] = time.perf_counter() - total_start
    print()
    print(table)
    print(f'\nresults: {out}/results.md, results.json, results.png '
          f'(total {summary["total_seconds"]:.0f} s)')
    result = dict(
        teacher_top1=teacher['top1'],
        top1_mean={m: mean_std(r['top1'])[0] for m, r in rows.items()},
        top1_std={m: mean_std(r['top1'])[1] for m, r in rows.items()},
        seeds=args.seeds, epochs=args.epochs,
        total_seconds=round(summary['total_seconds'], 1))
    print('RESULT ' + json.dumps(result))
    return summary


if __name__ == '__main__':
    main()
