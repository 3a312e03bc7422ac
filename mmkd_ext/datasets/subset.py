"""Seeded random subsets of a dataset split (the data-limited settings)."""
from typing import Optional

import numpy as np

__all__ = ['check_subset_ratio', 'seeded_subset']


def check_subset_ratio(ratio: Optional[float], key: str = 'subset_ratio'):
    """Raise ``ValueError`` naming ``key`` unless ``ratio`` is None or in (0, 1]."""
    if ratio is not None and not 0 < ratio <= 1:
        raise ValueError(f'{key} must be in (0, 1], got {ratio!r}')


def seeded_subset(indices,
                  ratio: Optional[float],
                  seed: int,
                  key: str = 'subset_ratio') -> np.ndarray:
    """Sorted random subset of ``round(ratio * len(indices))`` (at least one) of
    ``indices``, chosen without replacement by ``numpy.random.default_rng(seed)``;
    all of them for ``ratio`` None or 1. Not class-balanced."""
    check_subset_ratio(ratio, key)
    indices = np.asarray(indices)
    if ratio is None or ratio == 1:
        return indices
    keep = max(1, int(round(len(indices) * ratio)))
    return np.sort(np.random.default_rng(seed).choice(indices, size=keep, replace=False))
