"""Paired statistics and their markdown tables (docs/studies.md)."""
import math
from typing import Dict, Iterable, Optional, Sequence

import numpy as np


def mean_sd(values: Sequence[float]):
    """``(mean, sample sd, n)``; sd is ``nan`` for fewer than 2 values."""
    v = np.asarray(list(values), dtype=float)
    if v.size == 0:
        return float('nan'), float('nan'), 0
    sd = float(v.std(ddof=1)) if v.size > 1 else float('nan')
    return float(v.mean()), sd, int(v.size)


def paired_difference(method: Sequence[float],
                      reference: Sequence[float],
                      confidence: float = 0.95,
                      wilcoxon_from: int = 10) -> dict:
    """Paired comparison of two equally long, seed-aligned lists.

    Returns ``dict(n, mean, sd, ci_low, ci_high, p_t, p_wilcoxon, p, test)`` for
    ``d = method - reference``: ``p`` is the Wilcoxon signed-rank p-value when
    ``n >= wilcoxon_from`` and the paired t-test's otherwise (``test`` names it).
    With ``n < 2`` the interval and p-values are ``None``. All differences equal:
    the interval is that value; the t-test p is 1 when it is 0, else 0 (an exact,
    zero-variance difference); Wilcoxon gives 1 for all-zero differences.
    """
    a = np.asarray(list(method), dtype=float)
    b = np.asarray(list(reference), dtype=float)
    if a.shape != b.shape:
        raise ValueError(f'paired_difference needs seed-aligned lists of equal '
                         f'length, got {a.size} and {b.size}')
    d = a - b
    n = int(d.size)
    out = dict(
        n=n,
        mean=float(d.mean()) if n else float('nan'),
        sd=float(d.std(ddof=1)) if n > 1 else float('nan'),
        ci_low=None,
        ci_high=None,
        p_t=None,
        p_wilcoxon=None,
        p=None,
        test=None)
    if n < 2:
        return out
    from scipy import stats
    sd = out['sd']
    if sd == 0:
        out.update(
            ci_low=out['mean'], ci_high=out['mean'], p_t=1.0 if out['mean'] == 0 else 0.0)
    else:
        half = stats.t.ppf(0.5 + confidence / 2, n - 1) * sd / math.sqrt(n)
        out.update(
            ci_low=out['mean'] - half,
            ci_high=out['mean'] + half,
            p_t=float(stats.ttest_rel(a, b).pvalue))
    out['p'], out['test'] = out['p_t'], 'paired t'
    if n >= wilcoxon_from:
        if np.all(d == 0):
            pw = 1.0
        else:
            pw = float(stats.wilcoxon(a, b, alternative='two-sided').pvalue)
        out.update(p_wilcoxon=pw, p=pw, test='Wilcoxon')
    return out


def paired_report(values: Dict[str, Dict[int, float]], references: Iterable[str]) -> dict:
    """Per-method summary and paired differences to each reference method.

    ``values[method][seed] = metric``. Returns
    ``dict(methods={m: dict(mean, sd, n, seeds)},
    differences={ref: {m: paired_difference(...) + seeds}})``; a difference uses the
    seeds that both the method and the reference have finished. A reference is not
    compared again with the references before it (its mirror image is there).
    """
    references = list(references)
    report = dict(methods={}, differences={})
    for m, by_seed in values.items():
        mean, sd, n = mean_sd(by_seed.values())
        report['methods'][m] = dict(mean=mean, sd=sd, n=n, seeds=sorted(by_seed))
    for i, ref in enumerate(references):
        if ref not in values:
            continue
        diffs = {}
        for m, by_seed in values.items():
            if m == ref or m in references[:i]:
                continue
            seeds = sorted(set(by_seed) & set(values[ref]))
            res = paired_difference([by_seed[s] for s in seeds],
                                    [values[ref][s] for s in seeds])
            res['seeds'] = seeds
            diffs[m] = res
        report['differences'][ref] = diffs
    return _no_nan(report)


def _no_nan(obj):
    """NaN (e.g. the sd of one seed) -> None, so reports are strict JSON."""
    if isinstance(obj, dict):
        return {k: _no_nan(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_no_nan(v) for v in obj]
    if isinstance(obj, float) and math.isnan(obj):
        return None
    return obj


def _fmt(v, digits):
    return '-' if v is None or (isinstance(v, float) and math.isnan(v)) \
        else f'{v:.{digits}f}'


def _fmt_p(p):
    if p is None:
        return '-'
    return '< 0.001' if p < 1e-3 else f'{p:.3f}'


def markdown_tables(report: dict,
                    labels: Dict[str, str],
                    metric: str,
                    digits: int = 2,
                    extra: Optional[Dict[str, Dict[str, str]]] = None) -> str:
    """The per-method table (``mean +- sd``) and one paired-difference table per
    reference, as markdown. ``extra[method][column] = text`` adds columns."""
    extra = extra or {}
    cols = list(dict.fromkeys(c for row in extra.values() for c in row))
    lines = [
        f'| method | {metric} (mean +- sd) | seeds |' + ''.join(f' {c} |' for c in cols),
        '|---|---|---|' + '---|' * len(cols)
    ]
    for m, r in report['methods'].items():
        lines.append(f'| {labels.get(m, m)} | {_fmt(r["mean"], digits)} +- '
                     f'{_fmt(r["sd"], digits)} | {r["n"]} |' +
                     ''.join(f' {extra.get(m, {}).get(c, "")} |' for c in cols))
    for ref, diffs in report['differences'].items():
        if not diffs:
            continue
        lines += [
            '', f'Paired difference to **{labels.get(ref, ref)}** '
            f'(method - reference, same seeds):', '',
            '| method | mean diff | 95 % CI | p | test | n |', '|---|---|---|---|---|---|'
        ]
        for m, d in diffs.items():
            ci = '-' if d['ci_low'] is None else \
                f'[{_fmt(d["ci_low"], digits)}, {_fmt(d["ci_high"], digits)}]'
            lines.append(f'| {labels.get(m, m)} | {_fmt(d["mean"], digits)} | {ci} | '
                         f'{_fmt_p(d["p"])} | {d["test"] or "-"} | {d["n"]} |')
    return '\n'.join(lines)
