"""Tail-index estimators: the Mohammadi-Mohammadpour-Ogata log-moment
estimator (per series and pooled) and the Hill estimator.
"""

from __future__ import annotations

import dataclasses
import logging
import warnings

import numpy as np

from memsgd.stats._validate import as_series, check_int, to_float, to_list

logger = logging.getLogger(__name__)

# Pooling is flagged when coordinate scales (IQR) differ by more than this
# factor, or when a coordinate median is away from 0 by more than this share
# of the median scale. Both make Gaussian noise look heavy-tailed when pooled.
SCALE_RATIO_LIMIT = 1.5
OFFSET_LIMIT = 0.25


class PoolingWarning(UserWarning):
    """Pooling series of different scales or locations biases the tail index."""


@dataclasses.dataclass(frozen=True)
class TailIndexResult:
    """Mohammadi-Mohammadpour-Ogata tail index.

    Attributes:
        estimate: ``(C,)`` per series, or ``(1,)`` when pooled.
        stderr: delta-method standard errors (same shape).
        block: block length ``K1``.
        num_blocks: number of blocks ``K2``.
        pooled: whether all values were pooled into one sample.
        warning: why the pooled estimate is suspect, or ``None``.
    """

    estimate: np.ndarray
    stderr: np.ndarray
    block: int
    num_blocks: int
    pooled: bool
    warning: str | None

    def to_dict(self) -> dict:
        """JSON-safe dict."""
        return {
            "estimate": to_list(self.estimate),
            "stderr": to_list(self.stderr),
            "block": int(self.block),
            "num_blocks": int(self.num_blocks),
            "pooled": bool(self.pooled),
            "warning": self.warning,
        }


def tail_index(
    x, pooled: bool = False, *, block: int | None = None, center: bool | None = None
):
    """Mohammadi-Mohammadpour-Ogata (2015) log-moment tail index.

    With ``K = K1 K2`` values :math:`X_i` and block sums
    :math:`Y_j = \\sum_{i \\in \\text{block } j} X_i`,

    .. math::
        \\frac{1}{\\hat\\alpha} = \\frac{1}{\\log K_1}\\Big[\\frac{1}{K_2}
            \\sum_{j=1}^{K_2}\\log|Y_j| - \\frac{1}{K}\\sum_{i=1}^{K}\\log|X_i|
            \\Big]

    (Mohammadi, Mohammadpour & Ogata 2015, Cor. 2.4,
    doi:10.1007/s00184-014-0515-7). ``alpha = 2`` for Gaussian data. The
    estimator assumes i.i.d. values centred at zero; it is applied here as in
    Simsekli et al. (2019, arXiv:1901.06053): no centring.

    ``pooled=False`` estimates one index per column along time, after
    subtracting each column's median (``center=None`` or ``True``): the
    estimator assumes values centred at zero and an offset of one SD drives
    it to ~1 (docs/stats.md).
    ``pooled=True`` flattens the matrix in time-major order (each block sums
    coordinates of the same step, as for a gradient-noise vector) into one
    sample, as in the SGN literature; this emits a :class:`PoolingWarning`
    (also stored in the result) when the columns have different scales or
    locations, which drives the estimate far below 2 for Gaussian data. The
    pooled values are not centred unless ``center=True`` (the literature's
    estimator, whose artefact the warning is about).

    The standard error is the delta method on the two sample means, ignoring
    their covariance: ``se(1/alpha) = sqrt(v_Y / K2 + v_X / K) / log K1`` and
    ``se(alpha) = alpha^2 se(1/alpha)``.

    Args:
        x: ``(T, C)`` or ``(T,)`` array.
        pooled: one index for all values instead of one per column.
        block: ``K1`` (default ``round(sqrt(K))``, as in Simsekli et al.).
        center: subtract each column's median first (default: per series
            yes, pooled no).

    Returns:
        A :class:`TailIndexResult`.
    """
    arr = as_series(x, min_length=4)
    if center if center is not None else not pooled:
        arr = arr - np.median(arr, axis=0)
    warning = None
    if pooled:
        warning = _pooling_warning(arr)
        if warning:
            warnings.warn(warning, PoolingWarning, stacklevel=2)
        values = arr.reshape(-1, 1)
    else:
        values = arr
    k = values.shape[0]
    k1 = round(float(np.sqrt(k))) if block is None else check_int("block", block, 2)
    k1 = min(k1, k // 2) if block is None else k1
    k2 = k // k1
    if k2 < 2:
        raise ValueError(
            f"`block` must leave at least 2 blocks. Received: block={k1} with "
            f"{k} values"
        )
    used = values[: k1 * k2]
    tiny = np.finfo(np.float64).tiny
    log_x = np.log(np.abs(used) + tiny)
    log_y = np.log(np.abs(used.reshape(k2, k1, -1).sum(axis=1)) + tiny)
    inv = (log_y.mean(axis=0) - log_x.mean(axis=0)) / np.log(k1)
    with np.errstate(divide="ignore", invalid="ignore"):
        est = 1.0 / inv
        se_inv = np.sqrt(
            log_y.var(axis=0, ddof=1) / k2 + log_x.var(axis=0, ddof=1) / (k1 * k2)
        ) / np.log(k1)
    return TailIndexResult(
        estimate=est,
        stderr=est**2 * se_inv,
        block=k1,
        num_blocks=k2,
        pooled=bool(pooled),
        warning=warning,
    )


def _pooling_warning(arr: np.ndarray) -> str | None:
    if arr.shape[1] < 2:
        return None
    q75, q50, q25 = np.quantile(arr, [0.75, 0.5, 0.25], axis=0)
    iqr = q75 - q25
    positive = iqr[iqr > 0]
    if positive.size == 0:
        return None
    ratio = float(np.quantile(positive, 0.95) / np.quantile(positive, 0.05))
    # MMO assumes values centred at 0: any median away from 0 counts.
    offset = float(np.abs(q50).max() / np.median(positive))
    why = []
    if ratio > SCALE_RATIO_LIMIT:
        why.append(f"scales (IQR, 5-95% range) differ by a factor {ratio:.2f}")
    if offset > OFFSET_LIMIT:
        why.append(f"medians are offset from 0 by up to {offset:.2f} IQR")
    if not why:
        return None
    return (
        "pooled tail index mixes series whose "
        + " and ".join(why)
        + "; the pooled estimate is biased low even for Gaussian data, "
        "use the per-series estimate"
    )


@dataclasses.dataclass(frozen=True)
class HillResult:
    """Hill tail index with a data-driven number of order statistics.

    Attributes:
        estimate: ``(C,)`` tail indices.
        stderr: ``(C,)`` asymptotic standard errors ``alpha / sqrt(k)``.
        k: ``(C,)`` number of upper order statistics used.
        ks_distance: ``(C,)`` Kolmogorov-Smirnov distance at the chosen k.
    """

    estimate: np.ndarray
    stderr: np.ndarray
    k: np.ndarray
    ks_distance: np.ndarray

    def to_dict(self) -> dict:
        """JSON-safe dict."""
        return {
            "estimate": to_list(self.estimate),
            "stderr": to_list(self.stderr),
            "k": [int(v) for v in self.k],
            "ks_distance": to_list(self.ks_distance),
        }


def hill(x, *, k: int | None = None, min_k: int = 10, max_fraction: float = 0.2):
    """Hill estimator of the tail index of ``|x|`` for every column.

    .. math::
        \\hat\\alpha_k = \\Big[\\frac{1}{k}\\sum_{i=1}^{k}
            \\log X_{(i)} - \\log X_{(k+1)}\\Big]^{-1},

    with :math:`X_{(1)} \\ge X_{(2)} \\ge \\dots` the ordered ``|x|`` (Hill
    1975, doi:10.1214/aos/1176343247). Unless ``k`` is given, it is chosen
    per column as in Clauset, Shalizi & Newman (2009,
    doi:10.1137/070710111): the k in ``[min_k, max_fraction * T]`` whose
    fitted Pareto tail is closest, in Kolmogorov-Smirnov distance, to the
    empirical distribution of the ``k`` largest values.

    Args:
        x: ``(T, C)`` or ``(T,)`` array.
        k: a fixed number of order statistics for every column.
        min_k: smallest k tried.
        max_fraction: largest k tried, as a share of ``T``.

    Returns:
        A :class:`HillResult`.
    """
    arr = as_series(x, min_length=2 * min_k + 2)
    n, c = arr.shape
    if not 0.0 < max_fraction < 1.0:
        raise ValueError(
            f"`max_fraction` must be in (0, 1). Received: max_fraction={max_fraction!r}"
        )
    tiny = np.finfo(np.float64).tiny
    logs = np.log(-np.sort(-np.abs(arr), axis=0) + tiny)  # descending
    csum = np.cumsum(logs, axis=0)
    if k is not None:
        k = check_int("k", k, 1, n - 1)
        candidates = np.array([k])
    else:
        high = max(int(max_fraction * n), min_k)
        candidates = np.unique(np.round(np.geomspace(min_k, high, 24)).astype(int))
    alphas = np.empty((len(candidates), c))
    dists = np.empty((len(candidates), c))
    for row, kk in enumerate(candidates):
        # Ties at the threshold (e.g. a constant series) give alpha = inf
        # and NaN distances; such columns end as NaN below.
        with np.errstate(divide="ignore", invalid="ignore"):
            alpha = 1.0 / (csum[kk - 1] / kk - logs[kk])
            model = 1.0 - np.exp(-alpha * (logs[:kk] - logs[kk]))
        alphas[row] = alpha
        # Tail values X_(1..k) against Pareto(alpha, x_min = X_(k+1)):
        # F(x) = 1 - (x / x_min)^-alpha; empirical F at X_(i) is (k - i) / k.
        emp_hi = (kk - np.arange(kk) + 0.0)[:, None] / kk
        emp_lo = emp_hi - 1.0 / kk
        dists[row] = np.maximum(np.abs(model - emp_hi), np.abs(model - emp_lo)).max(0)
    dists = np.where(np.isfinite(dists), dists, np.inf)
    best = np.argmin(dists, axis=0)
    cols = np.arange(c)
    est = np.where(np.ptp(arr, axis=0) > 0, alphas[best, cols], np.nan)
    chosen = candidates[best]
    return HillResult(
        estimate=est,
        stderr=est / np.sqrt(chosen),
        k=chosen,
        ks_distance=dists[best, cols],
    )


def tail_summary(estimate) -> dict:
    """Mean and median of finite estimates (JSON-safe)."""
    est = np.asarray(estimate, dtype=np.float64)
    est = est[np.isfinite(est)]
    if est.size == 0:
        return {"mean": None, "median": None}
    return {"mean": to_float(est.mean()), "median": to_float(np.median(est))}
