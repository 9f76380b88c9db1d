"""Normality tests per series with Benjamini-Hochberg control.

The battery runs four tests on every column of a ``(T, C)`` array:
Shapiro-Wilk, D'Agostino-Pearson K^2 and Jarque-Bera (scipy, vectorised over
``axis=0``) and Anderson-Darling. scipy's ``anderson`` has no ``axis`` and
its p-values are clipped to [0.01, 0.15] by table interpolation, which makes
Benjamini-Hochberg over thousands of columns powerless; so the A^2 statistic
is computed here vectorised (checked against scipy's in the tests) and its
p-value comes from the closed-form approximation of D'Agostino & Stephens
(1986, "Goodness-of-Fit Techniques", Table 4.9) for the case of estimated
mean and variance.

False-discovery control: Benjamini & Hochberg (1995,
doi:10.1111/j.2517-6161.1995.tb02031.x) within each test; the "any test"
decision applies BH to the Bonferroni-combined p-value
``min(1, 4 * min_i p_i)`` of each column.
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
from scipy import special, stats

from memsgd.stats._validate import as_series, check_open_unit, to_list

logger = logging.getLogger(__name__)

TESTS = ("shapiro", "dagostino", "anderson", "jarque_bera")


def benjamini_hochberg(pvalues, fdr: float = 0.05) -> np.ndarray:
    """Rejections of the Benjamini-Hochberg step-up procedure.

    Rejects the hypotheses with the ``k`` smallest p-values, where ``k`` is
    the largest index with :math:`p_{(k)} \\le k q / m`.

    Args:
        pvalues: ``(m,)`` p-values (NaN never rejects).
        fdr: the false-discovery rate ``q``.

    Returns:
        ``(m,)`` boolean array, True where rejected.
    """
    check_open_unit("fdr", fdr)
    p = np.asarray(pvalues, dtype=np.float64).ravel()
    m = p.size
    filled = np.where(np.isfinite(p), p, np.inf)
    order = np.argsort(filled, kind="stable")
    passed = filled[order] <= fdr * np.arange(1, m + 1) / m
    reject = np.zeros(m, dtype=bool)
    if passed.any():
        k = int(np.nonzero(passed)[0].max())
        reject[order[: k + 1]] = True
    return reject


def anderson_darling(x) -> tuple[np.ndarray, np.ndarray]:
    """Anderson-Darling normality test of every column (mean, SD estimated).

    .. math::
        A^2 = -n - \\frac{1}{n}\\sum_{i=1}^{n}(2i-1)
            [\\log\\Phi(z_{(i)}) + \\log(1-\\Phi(z_{(n+1-i)}))],

    with :math:`z = (x - \\bar x)/s` (``ddof=1``, as in scipy). The p-value
    uses :math:`A^{*2} = A^2 (1 + 0.75/n + 2.25/n^2)` and the piecewise
    exponential fit of D'Agostino & Stephens (1986, Table 4.9).

    Args:
        x: ``(T, C)`` array.

    Returns:
        ``(statistic (C,), pvalue (C,))``.
    """
    arr = as_series(x)
    n = arr.shape[0]
    sd = arr.std(axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.sort((arr - arr.mean(axis=0)) / sd, axis=0)
    weights = (2 * np.arange(1, n + 1) - 1)[:, None]
    log_cdf = special.log_ndtr(z)
    log_sf = special.log_ndtr(-z[::-1])
    stat = -n - (weights * (log_cdf + log_sf)).sum(axis=0) / n
    a = stat * (1 + 0.75 / n + 2.25 / n**2)
    with np.errstate(over="ignore"):
        p = np.select(
            [a >= 0.6, a >= 0.34, a >= 0.2],
            [
                np.exp(1.2937 - 5.709 * a + 0.0186 * a**2),
                np.exp(0.9177 - 4.279 * a - 1.38 * a**2),
                1 - np.exp(-8.318 + 42.796 * a - 59.938 * a**2),
            ],
            1 - np.exp(-13.436 + 101.14 * a - 223.73 * a**2),
        )
    p = np.where(np.isfinite(stat), np.clip(p, 0.0, 1.0), np.nan)
    return stat, p


@dataclasses.dataclass(frozen=True)
class GaussianityResult:
    """Normality tests of ``C`` series.

    Attributes:
        fdr: the Benjamini-Hochberg false-discovery rate (also the per-test
            level of ``fraction_rejected_raw``).
        pvalues: test name -> ``(C,)`` p-values.
        rejected: test name -> ``(C,)`` BH rejections within that test.
        combined_pvalue: ``(C,)`` Bonferroni-combined p-value over the tests.
        rejected_any: ``(C,)`` BH rejections of the combined p-value.
    """

    fdr: float
    pvalues: dict
    rejected: dict
    combined_pvalue: np.ndarray
    rejected_any: np.ndarray

    def fraction_rejected(self, test: str | None = None) -> float:
        """Share of series rejected by BH (``test=None``: by any test)."""
        rej = self.rejected_any if test is None else self.rejected[test]
        return float(np.mean(rej))

    def fraction_rejected_raw(self, test: str) -> float:
        """Share with ``p < fdr`` in one test, without multiplicity control."""
        return float(np.mean(self.pvalues[test] < self.fdr))

    def to_dict(self) -> dict:
        """JSON-safe dict (the section-2 ``gaussianity`` block plus p-values)."""
        return {
            "fdr": float(self.fdr),
            "tests": {
                name: {
                    "fraction_rejected": self.fraction_rejected(name),
                    "pvalue": to_list(self.pvalues[name]),
                }
                for name in self.pvalues
            },
            "fraction_rejected_any": self.fraction_rejected(),
        }


def gaussianity(x, fdr: float = 0.05, *, tests=TESTS) -> GaussianityResult:
    """Runs the normality battery on every column of ``x``.

    Args:
        x: ``(T, C)`` or ``(T,)`` array; needs ``T >= 20`` (D'Agostino's
            kurtosis test).
        fdr: Benjamini-Hochberg false-discovery rate.
        tests: a subset of :data:`TESTS`.

    Returns:
        A :class:`GaussianityResult`.
    """
    check_open_unit("fdr", fdr)
    arr = as_series(x, min_length=20)
    unknown = [t for t in tests if t not in TESTS]
    if unknown or not tests:
        raise ValueError(
            f"`tests` must be a non-empty subset of {TESTS}. Received: tests={tests!r}"
        )
    # Constant series have no test (scipy warns on them): NaN p-values.
    const = np.ptp(arr, axis=0) == 0
    live = arr[:, ~const]
    pvalues = {}
    for name in tests:
        p = np.full(arr.shape[1], np.nan)
        if live.shape[1]:
            if name == "shapiro":
                p[~const] = stats.shapiro(live, axis=0).pvalue
            elif name == "dagostino":
                p[~const] = stats.normaltest(live, axis=0).pvalue
            elif name == "jarque_bera":
                p[~const] = stats.jarque_bera(live, axis=0).pvalue
            else:
                p[~const] = anderson_darling(live)[1]
        pvalues[name] = p
    rejected = {name: benjamini_hochberg(p, fdr) for name, p in pvalues.items()}
    stacked = np.vstack(list(pvalues.values()))
    combined = np.minimum(1.0, len(pvalues) * np.nan_to_num(stacked, nan=1.0).min(0))
    if np.any(const):
        combined = np.where(const, np.nan, combined)
        logger.info("%d constant series have no normality test", int(const.sum()))
    return GaussianityResult(
        fdr=float(fdr),
        pvalues=pvalues,
        rejected=rejected,
        combined_pvalue=combined,
        rejected_any=benjamini_hochberg(combined, fdr),
    )
