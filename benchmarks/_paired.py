"""The overhead estimate shared by the capture benchmarks."""

from __future__ import annotations

import numpy as np


def paired_overhead(wrapped, plain, resamples: int = 2000, seed: int = 0):
    """Median overhead of paired timings, in percent, with a 95% interval.

    Each wrapped timing ran next to a plain one, so the ratio of a pair
    cancels slow drifts of the machine's speed; the interval is a percentile
    bootstrap of the median ratio over the pairs (Efron & Tibshirani 1993,
    "An Introduction to the Bootstrap", ch. 13).

    Returns:
        (median, low, high), each 100 * (ratio - 1).
    """
    ratios = np.asarray(wrapped, float) / np.asarray(plain, float)
    rng = np.random.default_rng(seed)
    boot = np.median(rng.choice(ratios, (resamples, len(ratios))), axis=1)
    low, high = np.percentile(boot, [2.5, 97.5])
    return tuple(float(100 * (v - 1)) for v in (np.median(ratios), low, high))
