"""Paired statistics and their markdown tables (docs/studies.md)."""
import math
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

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
                      confidence: float = 0.95) -> dict:
    """Paired comparison of two equally long, seed-aligned lists: one test, the
    paired t-test, gives the mean difference, its interval and its p-value.

    For ``d = method - reference`` (``n`` seeds) returns
    ``dict(n, mean, sd, ci_low, ci_high, p, test, p_wilcoxon)``:

    * ``mean`` and ``sd`` (``ddof=1``) of ``d``; ``se = sd / sqrt(n)``;
    * ``ci_low, ci_high = mean -+ t_{(1 + confidence) / 2, n-1} * se``;
    * ``p``: two-sided paired t-test, ``2 * P(T_{n-1} > |mean| / se)`` (what
      ``scipy.stats.ttest_rel`` gives). Interval and p come from the same t statistic,
      so ``p < 1 - confidence`` exactly when the interval excludes 0;
    * ``p_wilcoxon``: the Wilcoxon signed-rank p-value (two-sided), an extra column
      that assumes no normality; it decides nothing in the report.

    With ``n < 2`` interval and p-values are ``None``. All differences equal (``sd =
    0``): the interval is that value, ``p`` is 1 when it is 0, else 0 (an exact,
    zero-variance difference); Wilcoxon gives 1 for all-zero differences.
    """
    a = np.asarray(list(method), dtype=float)
    b = np.asarray(list(reference), dtype=float)
    if a.shape != b.shape:
        raise ValueError(f'paired_difference needs seed-aligned lists of equal '
                         f'length, got {a.size} and {b.size}')
    if not 0 < confidence < 1:
        raise ValueError(f'confidence must be in (0, 1), got {confidence}')
    d = a - b
    n = int(d.size)
    out = dict(
        n=n,
        mean=float(d.mean()) if n else float('nan'),
        sd=float(d.std(ddof=1)) if n > 1 else float('nan'),
        ci_low=None,
        ci_high=None,
        p=None,
        test='paired t',
        p_wilcoxon=None)
    if n < 2:
        return out
    from scipy import stats
    mean, sd = out['mean'], out['sd']
    if sd == 0:
        out.update(ci_low=mean, ci_high=mean, p=1.0 if mean == 0 else 0.0)
    else:
        se = sd / math.sqrt(n)
        half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * se
        out.update(
            ci_low=mean - half,
            ci_high=mean + half,
            p=float(2 * stats.t.sf(abs(mean) / se, n - 1)))
    if np.all(d == 0):
        out['p_wilcoxon'] = 1.0
    else:
        out['p_wilcoxon'] = float(stats.wilcoxon(a, b, alternative='two-sided').pvalue)
    return out


def holm(pvalues: Sequence[Optional[float]]) -> List[Optional[float]]:
    """Holm's step-down adjustment of a family of ``m`` p-values (Holm 1979).

    Sorted ascending, ``p_(i)`` becomes ``max_{j <= i} min(1, (m - j + 1) p_(j))``;
    rejecting where the adjusted value is below alpha controls the family-wise error
    rate at alpha. A ``None`` (a comparison without a test, e.g. fewer than 2 seeds)
    still counts in ``m`` as ``p = 1`` and stays ``None``. E.g. ``[0.01, 0.04, 0.03] ->
    [0.03, 0.06, 0.06]``.
    """
    m = len(pvalues)
    filled = [1.0 if p is None else float(p) for p in pvalues]
    for p in filled:
        if not 0 <= p <= 1:
            raise ValueError(f'holm: p-values must be in [0, 1], got {p}')
    order = sorted(range(m), key=lambda i: filled[i])
    adjusted, running = [None] * m, 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * filled[i]))
        adjusted[i] = running
    return [None if p is None else a for p, a in zip(pvalues, adjusted)]


def paired_report(values: Dict[str, Dict[int, float]],
                  references: Iterable[str],
                  family: Optional[Iterable[Tuple[str, str]]] = None) -> dict:
    """Per-method summary, paired differences to each reference method, and the
    Holm adjustment over the study's family of comparisons.

    ``values[method][seed] = metric``. Returns
    ``dict(methods={m: dict(mean, sd, n, seeds)},
    differences={ref: {m: paired_difference(...) + seeds, p_holm, in_family}},
    family=[[method, reference], ...])``; a difference uses the seeds that both the
    method and the reference have finished. A reference is not compared again with
    the references before it (its mirror image is there).

    ``family``: the ``(method, reference)`` comparisons the study tests (its
    ``FAMILY``); ``None``: every difference computed here. Pairs with a method not in
    ``values`` (not run, e.g. ``--methods``) leave the family; each other pair must be
    a computed difference (``ValueError`` otherwise). ``p_holm`` is Holm's adjusted
    ``p`` over the family (:func:`holm`); ``None`` outside it (descriptive only).
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
    if family is None:
        pairs = [(m, ref) for ref, diffs in report['differences'].items() for m in diffs]
    else:
        pairs = []
        for pair in family:
            if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
                raise ValueError(f'FAMILY entries must be (method, reference) pairs, '
                                 f'got {pair!r}')
            m, ref = pair
            if m not in values or ref not in values:
                continue  # not run in this study (--methods)
            if m not in report['differences'].get(ref, {}):
                raise ValueError(
                    f'FAMILY pair ({m!r}, {ref!r}) is not a computed comparison: the '
                    f'reference must be one of the REFERENCES {tuple(references)} and '
                    f'not the mirror image of another pair')
            if (m, ref) not in pairs:
                pairs.append((m, ref))
    adjusted = holm([report['differences'][ref][m]['p'] for m, ref in pairs])
    for ref, diffs in report['differences'].items():
        for m, d in diffs.items():
            d['in_family'] = (m, ref) in pairs
            d['p_holm'] = None
    for (m, ref), p_holm in zip(pairs, adjusted):
        report['differences'][ref][m]['p_holm'] = p_holm
    report['family'] = [list(pair) for pair in pairs]
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
    """The per-method table (``mean +- sd``), one paired-difference table per
    reference and a note on the family, as markdown. ``extra[method][column] = text``
    adds columns. The tables mark in bold the comparisons with ``p_holm < 0.05``."""
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
            '| method | mean diff | 95 % CI | p | p_holm | p_wilcoxon | n |',
            '|---|---|---|---|---|---|---|'
        ]
        for m, d in diffs.items():
            ci = '-' if d['ci_low'] is None else \
                f'[{_fmt(d["ci_low"], digits)}, {_fmt(d["ci_high"], digits)}]'
            holm_p = _fmt_p(d.get('p_holm'))
            if d.get('p_holm') is not None and d['p_holm'] < 0.05:
                holm_p = f'**{holm_p}**'
            lines.append(f'| {labels.get(m, m)} | {_fmt(d["mean"], digits)} | {ci} | '
                         f'{_fmt_p(d["p"])} | {holm_p} | {_fmt_p(d.get("p_wilcoxon"))} | '
                         f'{d["n"]} |')
    family = report.get('family')
    if family is not None and any(report['differences'].values()):
        names = '; '.join(f'{labels.get(m, m)} vs {labels.get(r, r)}' for m, r in family)
        lines += [
            '', f'p: paired t-test, from the same t statistic as the 95 % CI (p < 0.05 '
            f'exactly when the CI excludes 0). p_holm: Holm-adjusted over the study\'s '
            f'family of {len(family)} comparisons ({names}); it decides (bold: p_holm '
            f'< 0.05); \'-\': outside the family, descriptive only. p_wilcoxon: '
            f'Wilcoxon signed-rank test, for reference.'
        ]
    return '\n'.join(lines)
