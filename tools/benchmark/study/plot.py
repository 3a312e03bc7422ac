"""The paired-difference plot of a study."""
import os
import os.path as osp
from typing import Dict

import numpy as np

from .stats import _fmt_p


def plot_paired(report: dict,
                labels: Dict[str, str],
                path: str,
                title: str,
                metric: str,
                higher_is_better: bool = True) -> str:
    """One panel per reference: each method's mean paired difference with its 95 %
    CI (t-based) as a horizontal error bar, the p-value written next to it."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    refs = [r for r, d in report['differences'].items() if d]
    if not refs:
        raise ValueError('plot_paired: no paired differences to plot (run the '
                         'reference method and at least one other method)')
    n_rows = max(len(d) for d in report['differences'].values())
    fig, axes = plt.subplots(
        1, len(refs), figsize=(5.2 * len(refs), 0.55 * n_rows + 1.9), squeeze=False)
    for ax, ref in zip(axes[0], refs):
        diffs = report['differences'][ref]
        names = list(diffs)
        ys = np.arange(len(names))[::-1]
        for y, m in zip(ys, names):
            d = diffs[m]
            if d['ci_low'] is None:
                ax.plot(d['mean'], y, 'o', color='grey')
                continue
            good = (d['mean'] > 0) == higher_is_better
            sig = d['p'] is not None and d['p'] < 0.05
            color = ('tab:green' if good else 'tab:red') if sig else 'tab:blue'
            ax.errorbar(
                d['mean'],
                y,
                xerr=[[d['mean'] - d['ci_low']], [d['ci_high'] - d['mean']]],
                fmt='o',
                color=color,
                capsize=4)
            ax.annotate(
                f'p={_fmt_p(d["p"])}', (d['ci_high'], y),
                xytext=(4, 3),
                textcoords='offset points',
                fontsize=7)
        ax.axvline(0, color='k', lw=0.8)
        ax.set_yticks(ys)
        ax.set_yticklabels([labels.get(m, m) for m in names], fontsize=8)
        n = max((d['n'] for d in diffs.values()), default=0)
        ax.set_xlabel(f'{metric}: method - reference')
        ax.set_title(
            f'vs {labels.get(ref, ref)}\n({n} paired seeds, 95 % t-CI)', fontsize=9)
        ax.margins(x=0.25)
    fig.suptitle(
        title + '\ngreen / red: significantly better / worse (p < 0.05; Wilcoxon '
        'from 10 seeds, else paired t), blue: not significant',
        fontsize=9)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
