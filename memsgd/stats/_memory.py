"""Autocorrelation with confidence bands, and the Ljung-Box test.

The sample autocorrelation is the standard biased estimator

.. math:: \\hat\\rho(k) = \\frac{\\sum_{t=1}^{n-k}(x_t-\\bar x)(x_{t+k}-\\bar x)}
                              {\\sum_{t=1}^{n}(x_t-\\bar x)^2},

computed for all columns with one zero-padded FFT (scipy).
``backend="tfp"`` calls ``tfp.stats.auto_correlation`` instead (lazily:
importing TensorFlow costs seconds, more than the FFT itself for the
matrices memsgd records, which is why numpy is the default). TFP divides
lag k by ``n - k``; its output is rescaled by ``(n - k) / n`` to the estimator
above, and the tests check that the two agree.
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
from scipy import fft as sp_fft
from scipy import stats

from memsgd.stats._validate import (
    as_series,
    check_choice,
    check_int,
    check_open_unit,
    to_list,
)

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class ACFResult:
    """Sample autocorrelations of ``C`` series.

    Attributes:
        lags: ``(L + 1,)`` lags ``0..L``.
        acf: ``(L + 1, C)`` autocorrelations.
        band: half-width ``z / sqrt(n)`` of the white-noise band.
        bartlett: ``(L + 1, C)`` Bartlett half-widths
            ``z sqrt((1 + 2 sum_{j<k} rho_j^2) / n)`` (MA(k-1) null).
        num_steps: ``n``.
    """

    lags: np.ndarray
    acf: np.ndarray
    band: float
    bartlett: np.ndarray
    num_steps: int

    def to_dict(self) -> dict:
        """JSON-safe summary across series: mean, 10% and 90% quantiles."""
        return {
            "lags": [int(k) for k in self.lags],
            "mean": to_list(self.acf.mean(axis=1)),
            "q10": to_list(np.quantile(self.acf, 0.1, axis=1)),
            "q90": to_list(np.quantile(self.acf, 0.9, axis=1)),
            "band": float(self.band),
        }


def acf(
    x, max_lag: int = 20, *, confidence: float = 0.95, backend: str = "numpy"
) -> ACFResult:
    """Sample autocorrelation of every column up to ``max_lag``.

    Args:
        x: ``(T, C)`` or ``(T,)`` array.
        max_lag: largest lag (``1 <= max_lag < T``).
        confidence: level of the bands.
        backend: ``"numpy"`` (scipy FFT) or ``"tfp"``
            (``tfp.stats.auto_correlation``).

    Returns:
        An :class:`ACFResult`.
    """
    arr = as_series(x, min_length=3)
    n = arr.shape[0]
    max_lag = check_int("max_lag", max_lag, 1, n - 1)
    check_open_unit("confidence", confidence)
    check_choice("backend", backend, ("numpy", "tfp"))
    if backend == "tfp":
        rho = _acf_tfp(arr, max_lag)
    else:
        centred = arr - arr.mean(axis=0)
        size = sp_fft.next_fast_len(2 * n)
        spec = sp_fft.rfft(centred, n=size, axis=0, workers=-1)
        cov = sp_fft.irfft(spec.real**2 + spec.imag**2, n=size, axis=0)[: max_lag + 1]
        with np.errstate(invalid="ignore", divide="ignore"):
            rho = cov / cov[0]
    z = stats.norm.ppf(0.5 + confidence / 2)
    cum = np.concatenate(
        [np.zeros((1, arr.shape[1])), np.cumsum(rho[1:-1] ** 2, axis=0)], axis=0
    )
    bartlett = np.concatenate(
        [np.zeros((1, arr.shape[1])), z * np.sqrt((1 + 2 * cum) / n)], axis=0
    )
    return ACFResult(
        lags=np.arange(max_lag + 1),
        acf=rho,
        band=float(z / np.sqrt(n)),
        bartlett=bartlett,
        num_steps=n,
    )


def _acf_tfp(arr: np.ndarray, max_lag: int) -> np.ndarray:
    import tensorflow_probability as tfp  # lazy: TF import is slow

    out = tfp.stats.auto_correlation(arr, axis=0, max_lags=max_lag, center=True)
    n = arr.shape[0]
    lag = np.arange(max_lag + 1)[:, None]
    return np.asarray(out, dtype=np.float64) * (n - lag) / n


@dataclasses.dataclass(frozen=True)
class LjungBoxResult:
    """Ljung-Box portmanteau test of ``C`` series.

    Attributes:
        lags: number of autocorrelations summed (``h``).
        statistic: ``(C,)`` Q statistics.
        pvalue: ``(C,)`` chi-square(h) upper-tail p-values.
    """

    lags: int
    statistic: np.ndarray
    pvalue: np.ndarray

    def fraction_rejected(self, level: float = 0.05) -> float:
        """Share of series with ``p < level``."""
        return float(np.mean(self.pvalue < level))

    def to_dict(self) -> dict:
        """JSON-safe dict."""
        return {
            "lags": int(self.lags),
            "statistic": to_list(self.statistic),
            "pvalue": to_list(self.pvalue),
            "fraction_rejected": self.fraction_rejected(),
        }


def ljung_box(x, lags: int = 20) -> LjungBoxResult:
    """Ljung-Box test of no autocorrelation up to lag ``h`` for every column.

    .. math:: Q = n(n+2)\\sum_{k=1}^{h} \\frac{\\hat\\rho_k^2}{n-k}
              \\sim \\chi^2_h \\text{ under white noise}

    (Ljung & Box 1978, doi:10.1093/biomet/65.2.297). statsmodels is not a
    dependency of memsgd, so the statistic is computed here from :func:`acf`.

    Args:
        x: ``(T, C)`` or ``(T,)`` array.
        lags: ``h``, ``1 <= h < T``.

    Returns:
        A :class:`LjungBoxResult`.
    """
    arr = as_series(x, min_length=3)
    n = arr.shape[0]
    lags = check_int("lags", lags, 1, n - 1)
    rho = acf(arr, lags).acf[1:]
    k = np.arange(1, lags + 1)[:, None]
    q = n * (n + 2) * (rho**2 / (n - k)).sum(axis=0)
    return LjungBoxResult(lags=lags, statistic=q, pvalue=stats.chi2.sf(q, lags))
