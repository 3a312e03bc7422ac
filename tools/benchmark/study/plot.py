"""The paired-difference plot of a study."""
import os
import os.path as osp
from typing import Dict

import numpy as np

from .stats import _fmt_p


def colour(d: dict, higher_is_better: bool = True, alpha: float = 0.05) -> str:
    """Colour of one paired difference ``d`` (a ``paired_report`` entry): decided by
    its Holm-adjusted p-value, ``'tab:green'`` / ``'tab:red'`` significantly better /
    worse (``p_holm < alpha``), ``'tab:blue'`` not significant, ``'tab:grey'`` outside
    the study's family (no ``p_holm``: descriptive only)."""
    if not d.get('in_family', True):
        return 'tab:grey'
    if d.get('p_holm') is None or d['p_holm'] >= alpha:
        return 'tab:blue'
    return 'tab:green' if (d['mean'] > 0) == higher_is_better else 'tab:red'


def _p_note(name: str, p) -> str:
    text = _fmt_p(p)
    return f'{name} {text}' if text.startswith('<') else f'{name}={text}'


def plot_paired(report: dict,
                labels: Dict[str, str],
                path: str,
                title: str,
                metric: str,
                higher_is_better: bool = True) -> str:
    """One panel per reference: each method's mean paired difference with its 95 %
    CI (paired t) as a horizontal error bar and its Holm-adjusted p-value written next
    to it. Colour: green / red = significantly better / worse (``p_holm < 0.05``), blue
    = not significant, grey = outside the study's family (descriptive only, its
    unadjusted p written)."""
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
            color = colour(d, higher_is_better)
            note = _p_note('p_holm', d.get('p_holm')) if d.get('in_family', True) \
                else _p_note('p', d['p']) + ' (not in family)'
            ax.errorbar(
                d['mean'],
                y,
                xerr=[[d['mean'] - d['ci_low']], [d['ci_high'] - d['mean']]],
                fmt='o',
                color=color,
                capsize=4)
            ax.annotate(
                note, (d['ci_high'], y),
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
        ax.margins(x=0.3)
    fig.suptitle(
        title + f'\ngreen / red: significantly better / worse (paired t, Holm over the '
        f'family of {len(report.get("family") or [])}: p_holm < 0.05), blue: not '
        'significant, grey: outside the family',
        fontsize=9)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
