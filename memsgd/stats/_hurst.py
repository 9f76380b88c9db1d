"""Hurst-exponent estimators, vectorised over many series at once.

Every estimator takes a ``(T, C)`` array (time x series; 1-D is one series)
and returns a :class:`HurstResult` with one estimate per column. The input is
a *noise* (increments) by default. ``kind="path"`` differences the input
once and then runs the same noise estimator, for every method: one rule,
no path-native shortcuts, so the two kinds always agree on
``path = cumsum(noise)``.

Methods and their choices (``n`` is the number of time steps):

- ``"whittle"`` (default): Whittle likelihood of fractional Gaussian noise
  (Beran 1994, ch. 5; Fox & Taqqu 1986, doi:10.1214/aos/1176349936) on all
  Fourier frequencies. The objective is evaluated for every column at once on
  a grid of H (one matrix product), then refined by a parabola through the
  three best grid points.
- ``"local_whittle"``: Robinson (1995, doi:10.1214/aos/1176324317)
  semiparametric Gaussian estimator, bandwidth ``m = floor(n ** 0.65)``.
- ``"gph"``: log-periodogram regression of Geweke & Porter-Hudak (1983,
  doi:10.1111/j.1467-9892.1983.tb00371.x), bandwidth ``m = floor(n ** 0.5)``.
- ``"rs"``: rescaled range with the Anis-Lloyd (1976) / Peters (1994)
  expected-value correction as in Weron (2002,
  doi:10.1016/S0378-4371(02)00961-5); windows log-spaced from 16 to n / 2.
- ``"dfa"``: detrended fluctuation analysis (Peng et al. 1994,
  doi:10.1103/PhysRevE.49.1685) of order 1 or 2, forward and backward
  segments (Kantelhardt et al. 2001), windows log-spaced from ``5 (q + 1)``
  to n / 4.
- ``"aggvar"``: aggregated variance (Taqqu, Teverovsky & Willinger 1995,
  doi:10.1142/S0218348X95000692) with block sizes from 1 to n / 10 and the
  exact fGn correction for the sample mean.
"""

from __future__ import annotations

import dataclasses
import functools
import logging

import numpy as np
from scipy import fft as sp_fft
from scipy import special, stats

from memsgd.stats._validate import (
    as_series,
    check_choice,
    check_int,
    check_open_unit,
    to_float,
    to_list,
)

logger = logging.getLogger(__name__)

METHODS = ("whittle", "local_whittle", "gph", "rs", "dfa", "aggvar")
CLASSES = ("anti-persistent", "uncorrelated", "persistent")

# H grid on which the Whittle-type objectives are tabulated. A parabola
# through three neighbouring points then finds the minimum to ~1e-4
# (checked against a scalar optimiser in the tests).
_GRID = np.linspace(0.005, 0.995, 100)
_MIN_STEPS = 32
# Fewest steps for a regression over at least two octaves of scales.
_MIN_BY_METHOD = {"rs": 64, "dfa": 80, "aggvar": 100}


@dataclasses.dataclass(frozen=True)
class HurstResult:
    """Hurst exponents of ``C`` series.

    Attributes:
        method: estimator name, one of :data:`METHODS`.
        kind: ``"noise"`` or ``"path"`` (what the input was).
        estimate: ``(C,)`` estimates of H.
        stderr: ``(C,)`` standard errors (asymptotic for the Whittle family
            and GPH, OLS slope errors for R/S, DFA and aggvar; the latter
            ignore correlations between scales and are rough).
        ci_low: ``(C,)`` lower ends of the confidence intervals.
        ci_high: ``(C,)`` upper ends.
        confidence: level of the intervals.
        num_steps: time steps used (after differencing a path).
        details: what the fit used (bandwidth, windows, order).
    """

    method: str
    kind: str
    estimate: np.ndarray
    stderr: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    confidence: float
    num_steps: int
    details: dict

    def to_dict(self) -> dict:
        """JSON-safe dict of the fields (arrays become lists)."""
        return {
            "method": self.method,
            "kind": self.kind,
            "estimate": to_list(self.estimate),
            "stderr": to_list(self.stderr),
            "ci_low": to_list(self.ci_low),
            "ci_high": to_list(self.ci_high),
            "confidence": float(self.confidence),
            "num_steps": int(self.num_steps),
            "details": {
                k: (to_list(v) if isinstance(v, np.ndarray) else v)
                for k, v in self.details.items()
            },
        }


def hurst(
    x,
    method: str = "whittle",
    kind: str = "noise",
    *,
    confidence: float = 0.95,
    order: int = 1,
    bandwidth: float | None = None,
    correction: bool = True,
) -> HurstResult:
    """Estimates the Hurst exponent of every column of ``x``.

    Args:
        x: ``(T, C)`` or ``(T,)`` array; time along axis 0.
        method: one of ``"whittle"``, ``"local_whittle"``, ``"gph"``,
            ``"rs"``, ``"dfa"``, ``"aggvar"``; see the module docstring.
        kind: ``"noise"`` (increments, e.g. SGN) or ``"path"`` (their
            cumulative sum; differenced once before estimation).
        confidence: level of the normal-approximation interval
            ``estimate +- z * stderr``.
        order: detrending order for ``"dfa"`` (1 or 2).
        bandwidth: exponent ``a`` of the bandwidth ``m = floor(n ** a)`` for
            ``"gph"`` (default 0.5) and ``"local_whittle"`` (default 0.65).
        correction: ``"rs"``: subtract the Anis-Lloyd-Peters expected R/S
            (``False`` gives the classical, biased estimator). ``"aggvar"``:
            correct for the sample mean under fGn.

    Returns:
        A :class:`HurstResult`.

    Raises:
        ValueError: on a bad argument or too short series (32 steps for the
            spectral methods, 64 for ``"rs"``, 80 per DFA order, 100 for
            ``"aggvar"``).
    """
    check_choice("method", method, METHODS)
    check_open_unit("confidence", confidence)
    if method == "dfa":
        check_int("order", order, 1, 2)
    needed = _MIN_BY_METHOD.get(method, _MIN_STEPS) * (order if method == "dfa" else 1)
    arr = as_series(x, kind=kind, min_length=needed)
    if bandwidth is not None and not 0.0 < bandwidth < 1.0:
        raise ValueError(
            f"`bandwidth` must be in (0, 1). Received: bandwidth={bandwidth!r}"
        )

    # Constant columns give log(0) and 0/0 on the way; they are set to NaN
    # below instead of warning once per estimator.
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "whittle":
            est, se, details = _whittle(arr)
        elif method == "local_whittle":
            est, se, details = _local_whittle(arr, bandwidth or 0.65)
        elif method == "gph":
            est, se, details = _gph(arr, bandwidth or 0.5)
        elif method == "rs":
            est, se, details = _rescaled_range(arr, correction)
        elif method == "dfa":
            est, se, details = _dfa(arr, order)
        else:
            est, se, details = _aggvar(arr, correction)
    constant = np.ptp(arr, axis=0) == 0
    est = np.where(constant, np.nan, est)
    se = np.where(constant, np.nan, se)

    z = stats.norm.ppf(0.5 + confidence / 2)
    return HurstResult(
        method=method,
        kind=kind,
        estimate=est,
        stderr=se,
        ci_low=est - z * se,
        ci_high=est + z * se,
        confidence=float(confidence),
        num_steps=arr.shape[0],
        details=details,
    )


# --------------------------------------------------------------------------
# Spectral estimators


def fgn_spectral_density(freqs, hurst_value, *, terms: int = 50) -> np.ndarray:
    """Spectral density of unit-variance fractional Gaussian noise.

    .. math::
        f(\\lambda; H) = \\frac{\\sin(\\pi H)\\,\\Gamma(2H+1)}{\\pi}
            (1 - \\cos\\lambda) \\sum_{k=-\\infty}^{\\infty}
            |2\\pi k + \\lambda|^{-2H-1},

    normalised so that :math:`\\int_{-\\pi}^{\\pi} f = 1` (Beran 1994, eq.
    2.17; Sinai 1976). The sum keeps ``|k| <= terms`` and adds the
    midpoint-rule integral of the rest (Paxson 1997,
    doi:10.1145/269790.269792, uses a similar tail term).

    Args:
        freqs: frequencies in ``(0, pi]``, any shape.
        hurst_value: H in (0, 1), scalar or broadcastable against ``freqs``.
        terms: number of explicit terms on each side.

    Returns:
        The density, broadcast shape of ``freqs`` and ``hurst_value``.
    """
    lam = np.asarray(freqs, dtype=np.float64)
    h = np.asarray(hurst_value, dtype=np.float64)
    d = 2.0 * h + 1.0
    total = np.abs(lam) ** (-d)
    for k in range(1, terms + 1):
        total = total + (2 * np.pi * k + lam) ** (-d) + (2 * np.pi * k - lam) ** (-d)
    edge = 2 * np.pi * (terms + 0.5)
    total = total + ((edge + lam) ** (1 - d) + (edge - lam) ** (1 - d)) / (
        2 * np.pi * (d - 1)
    )
    scale = np.sin(np.pi * h) * special.gamma(2 * h + 1) / np.pi
    # 2 sin^2(l/2) is 1 - cos(l) without the cancellation at small l.
    return scale * 2 * np.sin(lam / 2) ** 2 * total


def periodogram(x: np.ndarray, num_freqs: int | None = None):
    """Periodogram at the Fourier frequencies ``2 pi j / n``, ``j >= 1``.

    :math:`I(\\lambda_j) = |\\sum_t x_t e^{-i t \\lambda_j}|^2 / (2\\pi n)`.

    Args:
        x: ``(n, C)`` float array.
        num_freqs: keep ``j = 1..num_freqs`` (default ``(n - 1) // 2``).

    Returns:
        ``(freqs (m,), I (m, C))``.
    """
    n = x.shape[0]
    m = (n - 1) // 2 if num_freqs is None else num_freqs
    spec = sp_fft.rfft(x, axis=0, workers=-1)[1 : m + 1]
    power = (spec.real**2 + spec.imag**2) / (2 * np.pi * n)
    return 2 * np.pi * np.arange(1, m + 1) / n, power


def _profile_whittle(power: np.ndarray, log_f: np.ndarray) -> np.ndarray:
    """Minimises the scale-profiled Whittle objective over ``_GRID``.

    :math:`Q(H) = \\log \\frac{1}{m}\\sum_j I_j / f_j(H) +
    \\frac{1}{m}\\sum_j \\log f_j(H)` for all columns at once: ``power`` is
    ``(m, C)``, ``log_f`` is ``(m, G)``; one ``(C, G)`` matrix product.
    """
    m = power.shape[0]
    ratio = power.T @ np.exp(-log_f) / m
    # A constant column has ratio 0: its NaNs are masked at the end.
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.log(ratio) + log_f.mean(axis=0)
        return _parabola_min(q, power.max(axis=0) > 0)


def _parabola_min(q: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Vertex of the parabola through the best grid point and its neighbours."""
    best = np.argmin(q, axis=1)
    mid = np.clip(best, 1, len(_GRID) - 2)
    rows = np.arange(q.shape[0])
    y0, y1, y2 = q[rows, mid - 1], q[rows, mid], q[rows, mid + 1]
    curv = y0 - 2 * y1 + y2
    shift = np.where(curv > 0, 0.5 * (y0 - y2) / curv, 0.0)
    step = _GRID[1] - _GRID[0]
    est = _GRID[mid] + np.clip(shift, -1.0, 1.0) * step
    est = np.clip(est, _GRID[0], _GRID[-1])
    return np.where(valid, est, np.nan)


@functools.lru_cache(maxsize=16)
def _whittle_table(n: int):
    freqs = 2 * np.pi * np.arange(1, (n - 1) // 2 + 1) / n
    log_f = np.log(fgn_spectral_density(freqs[:, None], _GRID[None, :]))
    # Profile Fisher information of H per unit sample (scale profiled out):
    # sum_j (D_j - mean D)^2 with D = d log f / dH (Beran 1994, sec. 5.5).
    deriv = np.gradient(log_f, _GRID, axis=1)
    info = ((deriv - deriv.mean(axis=0)) ** 2).sum(axis=0)
    return log_f, info


def _whittle(x):
    n = x.shape[0]
    log_f, info = _whittle_table(n)
    _, power = periodogram(x)
    est = _profile_whittle(power, log_f)
    se = 1.0 / np.sqrt(np.interp(np.nan_to_num(est, nan=0.5), _GRID, info))
    return est, se, {"num_freqs": int(power.shape[0]), "model": "fGn"}


def _local_whittle(x, exponent):
    n = x.shape[0]
    m = max(int(np.floor(n**exponent)), 4)
    m = min(m, (n - 1) // 2)
    freqs, power = periodogram(x, m)
    d = _GRID - 0.5
    log_g = -2.0 * np.log(freqs)[:, None] * d[None, :]
    est = _profile_whittle(power, log_g)
    se = np.full(x.shape[1], 1.0 / (2.0 * np.sqrt(m)))
    return est, se, {"bandwidth": m, "bandwidth_exponent": float(exponent)}


def _gph(x, exponent):
    n = x.shape[0]
    m = max(int(np.floor(n**exponent)), 4)
    m = min(m, (n - 1) // 2)
    freqs, power = periodogram(x, m)
    regressor = -np.log(4 * np.sin(freqs / 2) ** 2)
    with np.errstate(divide="ignore"):
        slope, _ = _ols_slope(regressor, np.log(power))
    # Var(d) = (pi^2 / 6) / sum (X_j - mean X)^2 (Geweke & Porter-Hudak 1983).
    sxx = ((regressor - regressor.mean()) ** 2).sum()
    se = np.full(x.shape[1], np.sqrt(np.pi**2 / 6 / sxx))
    return slope + 0.5, se, {"bandwidth": m, "bandwidth_exponent": float(exponent)}


# --------------------------------------------------------------------------
# Time-domain estimators


def _ols_slope(xv: np.ndarray, y: np.ndarray):
    """OLS slope of every column of ``y`` (k, C) on ``xv`` (k,), and its SE."""
    xc = xv - xv.mean()
    sxx = (xc**2).sum()
    yc = y - y.mean(axis=0)
    slope = xc @ yc / sxx
    resid = yc - np.outer(xc, slope)
    dof = max(len(xv) - 2, 1)
    se = np.sqrt((resid**2).sum(axis=0) / dof / sxx)
    return slope, se


def _log_windows(low: int, high: int, count: int = 16) -> np.ndarray:
    return np.unique(np.round(np.geomspace(low, high, count)).astype(int))


def expected_rescaled_range(window) -> np.ndarray:
    """Anis-Lloyd expected R/S of white noise with Peters' correction.

    .. math::
        E[R/S]_n = \\frac{n - 1/2}{n}
            \\frac{\\Gamma((n-1)/2)}{\\sqrt{\\pi}\\,\\Gamma(n/2)}
            \\sum_{i=1}^{n-1} \\sqrt{\\frac{n-i}{i}}

    (Anis & Lloyd 1976, doi:10.1093/biomet/63.1.111; Peters 1994; Weron
    2002, eq. 5). The gamma ratio is taken through ``gammaln``, so the
    ``n > 340`` switch of the original is not needed.
    """
    n = np.atleast_1d(np.asarray(window, dtype=np.float64))
    out = np.empty_like(n)
    for idx, size in enumerate(n):
        i = np.arange(1, int(size))
        ratio = np.exp(special.gammaln((size - 1) / 2) - special.gammaln(size / 2))
        out[idx] = (
            (size - 0.5) / size * ratio / np.sqrt(np.pi) * np.sqrt((size - i) / i).sum()
        )
    return out


def _rescaled_range(x, correction):
    n, _ = x.shape
    windows = _log_windows(16, n // 2)
    log_rs = np.empty((len(windows), x.shape[1]))
    for row, w in enumerate(windows):
        blocks = x[: (n // w) * w].reshape(n // w, w, -1)
        dev = blocks - blocks.mean(axis=1, keepdims=True)
        walk = np.cumsum(dev, axis=1)
        spread = walk.max(axis=1) - walk.min(axis=1)
        sd = dev.std(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(sd > 0, spread / sd, np.nan)
        with np.errstate(invalid="ignore"):
            log_rs[row] = np.log(np.mean(ratio, axis=0))
    logw = np.log(windows)
    if correction:
        # Weron (2002): H = 0.5 + slope of log(R/S) - log E[R/S].
        corrected = log_rs - np.log(expected_rescaled_range(windows))[:, None]
        slope, se = _ols_slope(logw, corrected)
        est = 0.5 + slope
    else:
        est, se = _ols_slope(logw, log_rs)
    return est, se, {"windows": windows.tolist(), "correction": bool(correction)}


def _dfa(x, order):
    n, _ = x.shape
    profile = np.cumsum(x - x.mean(axis=0), axis=0)
    windows = _log_windows(5 * (order + 1), n // 4)
    log_f2 = np.empty((len(windows), x.shape[1]))
    for row, s in enumerate(windows):
        nb = n // s
        basis, _ = np.linalg.qr(np.vander(np.arange(s, dtype=np.float64), order + 1))
        total = 0.0
        # Forward and backward segmentations use both ends of the series.
        for seg in (profile[: nb * s], profile[n - nb * s :]):
            blocks = seg.reshape(nb, s, -1)
            coef = np.einsum("sk,bsc->bkc", basis, blocks)
            total = total + (blocks**2).sum(axis=(0, 1)) - (coef**2).sum(axis=(0, 1))
        log_f2[row] = np.log(np.maximum(total, 1e-300) / (2 * nb * s))
    slope, se = _ols_slope(np.log(windows), 0.5 * log_f2)
    return slope, se, {"windows": windows.tolist(), "order": int(order)}


def _aggvar(x, correction):
    n, _ = x.shape
    sizes = _log_windows(1, n // 10)
    log_var = np.empty((len(sizes), x.shape[1]))
    blocks_per = np.empty(len(sizes))
    for row, m in enumerate(sizes):
        k = n // m
        means = x[: k * m].reshape(k, m, -1).mean(axis=1)
        with np.errstate(divide="ignore"):
            log_var[row] = np.log(means.var(axis=0, ddof=1))
        blocks_per[row] = k
    logm = np.log(sizes)
    slope, se = _ols_slope(logm, log_var)
    est = 1 + slope / 2
    if correction:
        # E[s^2] = m^(2H-2) (k - k^(2H-1)) / (k - 1) for k fGn block means;
        # divide it out at the current H and refit (a few fixed-point steps).
        for _ in range(4):
            h = np.clip(est, 0.01, 0.99)
            factor = (blocks_per[:, None] - blocks_per[:, None] ** (2 * h - 1)) / (
                blocks_per[:, None] - 1
            )
            slope, se = _ols_slope(logm, log_var - np.log(factor))
            est = 1 + slope / 2
    return est, se / 2, {"block_sizes": sizes.tolist(), "correction": bool(correction)}


# --------------------------------------------------------------------------
# Sliding windows and classification


@dataclasses.dataclass(frozen=True)
class SlidingHurst:
    """H over sliding windows.

    Attributes:
        starts: ``(W,)`` first time index of each window.
        window: window length.
        estimate: ``(W, C)`` estimates.
        stderr: ``(W, C)`` standard errors.
        method: estimator used.
        kind: ``"noise"`` or ``"path"``.
    """

    starts: np.ndarray
    window: int
    estimate: np.ndarray
    stderr: np.ndarray
    method: str
    kind: str

    def to_dict(self) -> dict:
        """JSON-safe dict; ``estimate`` and ``stderr`` are lists of rows."""
        return {
            "starts": [int(s) for s in self.starts],
            "window": int(self.window),
            "estimate": [to_list(r) for r in self.estimate],
            "stderr": [to_list(r) for r in self.stderr],
            "method": self.method,
            "kind": self.kind,
        }


def sliding_hurst(
    x, window: int, step: int | None = None, *, method="whittle", kind="noise"
) -> SlidingHurst:
    """H of every column over windows ``[s, s + window)``, ``s = 0, step, ..``.

    All windows of all columns go through one call of :func:`hurst`.

    Args:
        x: ``(T, C)`` or ``(T,)`` array.
        window: window length (>= 32 time steps of noise).
        step: distance between window starts (default ``window // 2``).
        method: a :func:`hurst` method.
        kind: ``"noise"`` or ``"path"``.

    Returns:
        A :class:`SlidingHurst`.
    """
    arr = as_series(x, min_length=_MIN_STEPS)
    t, c = arr.shape
    window = check_int("window", window, _MIN_STEPS + (kind == "path"), t)
    step = check_int("step", window // 2 if step is None else step, 1)
    starts = np.arange(0, t - window + 1, step)
    idx = starts[:, None] + np.arange(window)[None, :]
    stacked = arr[idx]  # (W, window, C)
    flat = np.moveaxis(stacked, 1, 0).reshape(window, -1)
    res = hurst(flat, method=method, kind=kind)
    shape = (len(starts), c)
    return SlidingHurst(
        starts=starts,
        window=window,
        estimate=res.estimate.reshape(shape),
        stderr=res.stderr.reshape(shape),
        method=method,
        kind=kind,
    )


@dataclasses.dataclass(frozen=True)
class MemoryClasses:
    """Memory class of each series from its confidence interval.

    Attributes:
        labels: ``(C,)`` tuple of ``"anti-persistent"`` (interval entirely
            below ``threshold``), ``"persistent"`` (entirely above) or
            ``"uncorrelated"`` (covers it).
        counts: number of series in each class.
        threshold: the H of no memory (0.5).
    """

    labels: tuple
    counts: dict
    threshold: float

    def to_dict(self) -> dict:
        """JSON-safe dict."""
        return {
            "labels": list(self.labels),
            "counts": dict(self.counts),
            "threshold": float(self.threshold),
        }


def classify_memory(result: HurstResult, threshold: float = 0.5) -> MemoryClasses:
    """Classifies every series as anti-persistent, uncorrelated or persistent.

    A series is anti-persistent when its whole interval
    ``[ci_low, ci_high]`` lies below ``threshold``, persistent when it lies
    above, and uncorrelated otherwise (a series without an estimate counts as
    uncorrelated). The error rate per series is that of the interval:
    ``(1 - confidence) / 2`` of white-noise series are called
    anti-persistent, and as many persistent.

    Args:
        result: a :class:`HurstResult`.
        threshold: H of memoryless noise.

    Returns:
        A :class:`MemoryClasses`.
    """
    check_open_unit("threshold", threshold)
    below = result.ci_high < threshold
    above = result.ci_low > threshold
    labels = np.where(below, CLASSES[0], np.where(above, CLASSES[2], CLASSES[1]))
    counts = {name: int(np.sum(labels == name)) for name in CLASSES}
    return MemoryClasses(
        labels=tuple(labels.tolist()), counts=counts, threshold=float(threshold)
    )


def summarize(result: HurstResult) -> dict:
    """Mean, median and SD of the finite estimates (JSON-safe)."""
    est = result.estimate[np.isfinite(result.estimate)]
    if est.size == 0:
        return {"mean": None, "median": None, "sd": None}
    return {
        "mean": to_float(est.mean()),
        "median": to_float(np.median(est)),
        "sd": to_float(est.std(ddof=1)) if est.size > 1 else None,
    }
