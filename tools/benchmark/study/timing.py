"""Direct cost ratio of two steps, interleaved (tools/benchmark/*_overhead.py)."""
import time

import numpy as np


def interleaved_ratio(fn_a,
                      fn_b,
                      repeats: int,
                      warmup: int = 1,
                      clock=None,
                      confidence: float = 0.95) -> dict:
    """Direct cost ratio ``time(b) / time(a)`` of two full steps, interleaved.

    Each repeat times ``a`` and ``b`` back to back, alternating which goes first
    (ABBA...), so slow drifts of the machine hit both; the per-repeat ratios are
    summarised by their median with a distribution-free confidence interval for the
    median (order statistics of the binomial(n, 1/2), ``n >= 6`` for 95 %).
    Returns ``dict(ratio, ci_low, ci_high, n, median_a, median_b, ratios)``.
    """
    from scipy import stats
    clock = clock or time.perf_counter
    for _ in range(warmup):
        fn_a()
        fn_b()
    ta, tb = [], []
    for i in range(repeats):
        order = ((fn_a, ta), (fn_b, tb)) if i % 2 == 0 else ((fn_b, tb), (fn_a, ta))
        for fn, times in order:
            t0 = clock()
            fn()
            times.append(clock() - t0)
    ratios = sorted(b / a for a, b in zip(ta, tb))
    n = len(ratios)
    lo = hi = None
    if n >= 2:
        # largest k with P(Binom(n, .5) < k) <= alpha/2: [r_(k), r_(n-k+1)]
        alpha = 1 - confidence
        k = int(stats.binom.ppf(alpha / 2, n, 0.5))
        if k >= 1:
            lo, hi = ratios[k - 1], ratios[n - k]
    return dict(
        ratio=float(np.median(ratios)),
        ci_low=lo,
        ci_high=hi,
        n=n,
        median_a=float(np.median(ta)),
        median_b=float(np.median(tb)),
        ratios=[round(r, 5) for r in ratios])


def hold_heap() -> bool:
    """Keep freed memory inside the process for the rest of its life (glibc ``mallopt``:
    no ``mmap`` for large blocks, no trimming of the heap's top).

    With glibc's defaults every large temporary of a step (activations, gradients) is a
    fresh ``mmap`` whose pages fault in again, zeroed by the kernel, on first touch: in
    the DeiT-tiny <- RegNetY-160 step that is about 0.5 M minor faults, 10-13 % of the
    step's CPU time, and its amount depends on the heap's state, so it moves from step
    to step (and from arm to arm of an interleaved comparison) by more than the cost
    being measured. With the heap held, after a warm-up step a step faults no pages,
    as on a GPU, whose caching allocator keeps its blocks. Call it before the models
    are built. Returns False (and changes nothing) where ``mallopt`` is not available.
    """
    import ctypes
    import ctypes.util
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6').mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_max = -1, -4  # <malloc.h>
    return bool(mallopt(m_mmap_max, 0)) and bool(mallopt(m_trim_threshold, 2**31 - 1))
