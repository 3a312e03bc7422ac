"""Compare the neural-collapse geometry of a teacher and a student.

    python tools/analysis_tools/nc_report.py TEACHER_CFG TEACHER_CKPT \
        STUDENT_CFG STUDENT_CKPT --out-dir work_dirs/nc_report [--split test] [--tsne]

Each config may be a plain classification config or a distillation config: the
teacher is taken from ``cfg.model.teacher`` and the student from
``cfg.model.architecture`` when present (their weights under ``teacher.`` /
``architecture.`` in a distillation checkpoint are picked up); ``--teacher-key`` /
``--student-key`` override. Writes ``nc_metrics.json``, ``nc_metrics.png`` (bar chart)
and with ``--tsne`` ``tsne.png`` (features of both models, coloured by class), and
prints a markdown table. Metrics: :func:`mmkd_ext.models.utils.neural_collapse.nc_metrics`
plus top-1 accuracy.
"""
import argparse
import json
import os
import os.path as osp

import torch
from mmengine.config import Config, DictAction

import mmkd_ext  # noqa: F401
from mmkd_ext.evaluation.nc_analysis import (build_loader, collect_features,
                                             load_classifier)
from mmkd_ext.models.utils.neural_collapse import nc_metrics

#: each metric at perfect neural collapse: 0 for the NC1 / NC2 / NC3 errors, 1 else
IDEAL = dict.fromkeys(('nc1', 'nc2_equinorm', 'nc2_equiangular', 'nc2_maxangle',
                       'nc2_etf_error', 'nc3_self_duality'), 0)
IDEAL.update(nc3_mean_cosine=1, accuracy=1)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Neural-collapse report')
    p.add_argument('teacher_config')
    p.add_argument('teacher_checkpoint')
    p.add_argument('student_config')
    p.add_argument('student_checkpoint')
    p.add_argument('--teacher-key', default='auto')
    p.add_argument('--student-key', default='auto')
    p.add_argument('--split', default='test', choices=['train', 'val', 'test'])
    p.add_argument('--classifier-layer', default='head.fc')
    p.add_argument('--batch-size', type=int, default=64)
    p.add_argument('--out-dir', default='work_dirs/nc_report')
    p.add_argument('--tsne', action='store_true', help='also write tsne.png')
    p.add_argument('--tsne-samples', type=int, default=2000)
    p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    p.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='overrides applied to both configs')
    return p.parse_args(argv)


def analyse(cfg_path, ckpt, key, role, args):
    if not osp.isfile(cfg_path):
        raise FileNotFoundError(f'{role} config "{cfg_path}" does not exist')
    cfg = Config.fromfile(cfg_path)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if key == 'auto':
        sub = 'teacher' if role == 'teacher' else 'architecture'
        key = sub if sub in cfg.model else None
    model = load_classifier(cfg, ckpt, key, args.device)
    out = collect_features(
        model,
        build_loader(cfg, args.split, 'test', args.batch_size),
        args.classifier_layer,
        progress=False)
    metrics = nc_metrics(out['feats'], out['labels'], out['weight'])
    metrics['accuracy'] = float((out['logits'].argmax(1) == out['labels']).float().mean())
    return metrics, out


def plot_bars(results, path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    keys = list(next(iter(results.values())).keys())
    fig, ax = plt.subplots(figsize=(1.2 * len(keys) + 2, 4))
    width = 0.8 / len(results)
    for i, (name, m) in enumerate(results.items()):
        xs = [j + i * width for j in range(len(keys))]
        ax.bar(xs, [m[k] for k in keys], width, label=name)
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(keys))])
    ax.set_xticklabels([f'{k}\n(ideal {IDEAL.get(k, "")})' for k in keys],
                       rotation=30,
                       ha='right',
                       fontsize=8)
    ax.set_yscale('symlog', linthresh=1e-2)
    ax.legend()
    ax.set_title('Neural-collapse metrics')
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_tsne(outs, path, max_samples):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from sklearn.manifold import TSNE
    fig, axes = plt.subplots(1, len(outs), figsize=(5 * len(outs), 5))
    for ax, (name, out) in zip(axes, outs.items()):
        n = out['feats'].shape[0]
        idx = torch.randperm(n, generator=torch.Generator().manual_seed(0))[:max_samples]
        x = out['feats'][idx].numpy()
        emb = TSNE(
            n_components=2,
            init='pca',
            random_state=0,
            perplexity=min(30, max(2,
                                   len(idx) // 4))).fit_transform(x)
        ax.scatter(
            emb[:, 0],
            emb[:, 1],
            c=out['labels'][idx].numpy(),
            s=4,
            cmap='tab10' if out['weight'].shape[0] <= 10 else 'nipy_spectral')
        ax.set_title(f'{name} features (t-SNE)')
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.out_dir, exist_ok=True)
    results, outs = {}, {}
    for role, cfg, ckpt, key in (('teacher', args.teacher_config, args.teacher_checkpoint,
                                  args.teacher_key),
                                 ('student', args.student_config, args.student_checkpoint,
                                  args.student_key)):
        results[role], outs[role] = analyse(cfg, ckpt, key, role, args)
    keys = list(results['teacher'])
    lines = ['| metric | ideal | teacher | student |', '|---|---|---|---|']
    lines += [
        f'| {k} | {IDEAL.get(k, "")} | {results["teacher"][k]:.4f} | '
        f'{results["student"][k]:.4f} |' for k in keys
    ]
    print('\n'.join(lines))
    with open(osp.join(args.out_dir, 'nc_metrics.json'), 'w') as f:
        json.dump(results, f, indent=2)
    plot_bars(results, osp.join(args.out_dir, 'nc_metrics.png'))
    if args.tsne:
        plot_tsne(outs, osp.join(args.out_dir, 'tsne.png'), args.tsne_samples)
    print(f'wrote {args.out_dir}/nc_metrics.json, nc_metrics.png' +
          (', tsne.png' if args.tsne else ''))


if __name__ == '__main__':
    main()
