"""Alpha-stable fits, their goodness of fit, and a marginal verdict.

Parameterization: results are in scipy's default ``"S1"`` (Samorodnitsky &
Taqqu; Nolan's S1), so ``scipy.stats.levy_stable(alpha, beta, loc, scale)``
with scipy's default settings is the fitted law. For ``alpha != 1``

.. math:: \\log\\varphi(t) = -c^\\alpha|t|^\\alpha
          [1 - i\\beta\\,\\mathrm{sign}(t)\\tan(\\pi\\alpha/2)] + i\\mu t .

Internally the fits work in the continuous S0 form (Nolan 2020, "Univariate
Stable Distributions", doi:10.1007/978-3-030-52915-4), where
:math:`\\mu_0 = \\mu + \\beta c \\tan(\\pi\\alpha/2)`; the S1 location is
ill-conditioned near ``alpha = 1`` for any estimator.

Methods:

- ``"koutrouvelis"`` (default): regression on the empirical characteristic
  function (Koutrouvelis 1980, doi:10.1080/01621459.1980.10477573) with the
  fixed grid ``t = 0.1..1`` on standardised data of Kogon & Williams (1998,
  "A Practical Guide to Heavy Tails", pp. 311-335), iterated three times.
  Accurate near ``alpha = 2``.
- ``"mcculloch"``: McCulloch's (1986, doi:10.1080/03610918608812563)
  quantile estimator. Its tables were computed for memsgd from scipy's
  stable quantiles (``_mcculloch_table.py`` says how). Biased low near
  ``alpha = 2`` (a sample quantile ratio below the Gaussian one is clipped).
- ``"mle"``: ``scipy.stats.levy_stable.fit`` per column, started from the
  Koutrouvelis fit. Slow (seconds to minutes per series); a Python loop over
  columns, the one exception to memsgd's vectorised estimators.
"""

from __future__ import annotations

import dataclasses
import functools
import logging

import numpy as np
from scipy import interpolate, stats

from memsgd.stats import _mcculloch_table
from memsgd.stats._validate import (
    as_series,
    check_choice,
    check_open_unit,
    to_list,
)

logger = logging.getLogger(__name__)

METHODS = ("koutrouvelis", "mcculloch", "mle")
VERDICTS = ("gaussian", "stable", "neither")
_T_FIT = np.linspace(0.1, 1.0, 10)
_T_GOF = np.linspace(0.1, 2.0, 20)
_ALPHA_MIN = 0.5


@dataclasses.dataclass(frozen=True)
class StableFit:
    """Alpha-stable parameters of ``C`` series.

    Attributes:
        alpha: ``(C,)`` stability indices in ``[0.5, 2]``.
        beta: ``(C,)`` skewness in ``[-1, 1]`` (meaningless near 2).
        scale: ``(C,)`` scale ``c``.
        loc: ``(C,)`` location in ``parameterization``.
        parameterization: ``"S1"`` (scipy's default).
        method: fit method.
    """

    alpha: np.ndarray
    beta: np.ndarray
    scale: np.ndarray
    loc: np.ndarray
    parameterization: str
    method: str

    def to_dict(self) -> dict:
        """JSON-safe dict."""
        return {
            "method": self.method,
            "parameterization": self.parameterization,
            "alpha": to_list(self.alpha),
            "beta": to_list(self.beta),
            "scale": to_list(self.scale),
            "loc": to_list(self.loc),
        }


def fit_stable(x, method: str = "koutrouvelis") -> StableFit:
    """Fits an alpha-stable law to every column of ``x``.

    Args:
        x: ``(T, C)`` or ``(T,)`` array of i.i.d. draws per column.
        method: ``"koutrouvelis"``, ``"mcculloch"`` or ``"mle"``; see the
            module docstring.

    Returns:
        A :class:`StableFit` in the S1 parameterization.
    """
    check_choice("method", method, METHODS)
    arr = as_series(x, min_length=20)
    # A constant series has no stable fit: NaN parameters.
    live = np.ptp(arr, axis=0) > 0
    params = np.full((4, arr.shape[1]), np.nan)
    if live.any():
        data = arr[:, live]
        if method == "mcculloch":
            alpha, beta, scale, loc0 = _mcculloch(data)
        else:
            alpha, beta, scale, loc0 = _koutrouvelis(data)
        loc = _s0_to_s1(alpha, beta, scale, loc0)
        if method == "mle":
            alpha, beta, scale, loc = _mle(data, alpha, beta, scale, loc)
        params[:, live] = alpha, beta, scale, loc
    return StableFit(
        alpha=params[0],
        beta=params[1],
        scale=params[2],
        loc=params[3],
        parameterization="S1",
        method=method,
    )


def _s0_to_s1(alpha, beta, scale, loc0):
    with np.errstate(invalid="ignore", over="ignore"):
        shift = np.where(
            np.abs(alpha - 1) > 1e-9, beta * scale * np.tan(np.pi * alpha / 2), 0.0
        )
    return loc0 - shift


def _standardise(arr):
    q25, q50, q75 = np.quantile(arr, [0.25, 0.5, 0.75], axis=0)
    # IQR / 2 is the scale c of a Cauchy law and 0.95 c of a Gaussian one.
    scale = (q75 - q25) / 2
    scale = np.where(scale > 0, scale, arr.std(axis=0) + 1e-300)
    return scale, q50


def _ecf(z: np.ndarray, t: np.ndarray):
    """Empirical characteristic function: (len(t), C) real and imag parts.

    ``t`` must be ``step * (1, 2, ..., K)``; the angle-addition recurrence
    then needs one cosine and one sine per value instead of K of each.
    """
    step = t[0]
    if not np.allclose(t, step * np.arange(1, len(t) + 1)):
        raise ValueError(f"`t` must be multiples of its first entry. Received: {t}")
    c1 = np.cos(step * z)
    s1 = np.sin(step * z)
    ck, sk = c1, s1
    re = np.empty((len(t), z.shape[1]))
    im = np.empty_like(re)
    for k in range(len(t)):
        if k:
            ck, sk = ck * c1 - sk * s1, sk * c1 + ck * s1
        re[k] = ck.mean(axis=0)
        im[k] = sk.mean(axis=0)
    return re, im


def _koutrouvelis(arr, iterations: int = 3):
    """Characteristic-function regression (S0), all columns at once.

    On data standardised by the current scale ``S`` and location ``L``,
    :math:`\\log(-\\log|\\hat\\varphi(t)|^2) = \\log(2c^\\alpha) +
    \\alpha\\log t` gives ``alpha`` and ``c`` by least squares, and
    :math:`\\arg\\hat\\varphi(t) = \\mu_0 t - \\beta\\tan(\\pi\\alpha/2)
    (ct - c^\\alpha t^\\alpha)` gives ``mu_0`` and ``beta``.
    """
    scale, loc = _standardise(arr)
    logt = np.log(_T_FIT)
    alpha = np.full(arr.shape[1], 2.0)
    beta = np.zeros(arr.shape[1])
    for _ in range(iterations):
        z = (arr - loc) / scale
        re, im = _ecf(z, _T_FIT)
        mod2 = np.clip(re**2 + im**2, 1e-12, 1 - 1e-12)
        y = np.log(-np.log(mod2))
        yc = y - y.mean(axis=0)
        lc = logt - logt.mean()
        alpha = np.clip(lc @ yc / (lc**2).sum(), _ALPHA_MIN, 2.0)
        intercept = y.mean(axis=0) - alpha * logt.mean()
        c = (np.exp(intercept) / 2) ** (1 / alpha)

        # Two-regressor least squares for (mu_0, beta), column by column
        # through the closed-form 2x2 normal equations.
        t = _T_FIT[:, None]
        phase = np.arctan2(im, re)
        with np.errstate(invalid="ignore", over="ignore"):
            tan = np.where(np.abs(alpha - 1) > 1e-3, np.tan(np.pi * alpha / 2), 0.0)
        r2 = -tan * (c * t - c**alpha * t**alpha)
        s11 = (t**2).sum(axis=0)
        s12 = (t * r2).sum(axis=0)
        s22 = (r2**2).sum(axis=0)
        b1 = (t * phase).sum(axis=0)
        b2 = (r2 * phase).sum(axis=0)
        det = s11 * s22 - s12**2
        ok = det > 1e-12 * s11 * np.maximum(s22, 1e-300)
        with np.errstate(invalid="ignore", divide="ignore"):
            mu0 = np.where(ok, (s22 * b1 - s12 * b2) / det, b1 / s11)
            beta = np.where(ok, (s11 * b2 - s12 * b1) / det, 0.0)
        beta = np.clip(np.nan_to_num(beta), -1.0, 1.0)
        loc = loc + scale * mu0
        scale = scale * c
    return alpha, beta, scale, loc


@functools.lru_cache(maxsize=1)
def _mcculloch_interpolators():
    alphas = np.asarray(_mcculloch_table.ALPHAS)
    betas = np.asarray(_mcculloch_table.BETAS)
    q = np.asarray(_mcculloch_table.QUANTILES)  # (A, B, 5), S1 unit scale
    nu_a = (q[..., 4] - q[..., 0]) / (q[..., 3] - q[..., 1])
    nu_b = (q[..., 4] + q[..., 0] - 2 * q[..., 2]) / (q[..., 4] - q[..., 0])
    aa, bb = np.meshgrid(alphas, betas, indexing="ij")
    pts = np.column_stack([nu_a.ravel(), nu_b.ravel()])
    vals = np.column_stack([aa.ravel(), bb.ravel()])
    linear = interpolate.LinearNDInterpolator(pts, vals)
    nearest = interpolate.NearestNDInterpolator(pts, vals)
    with np.errstate(invalid="ignore", over="ignore"):
        tan = np.where(np.abs(aa - 1) > 1e-9, np.tan(np.pi * aa / 2), 0.0)
    phi3 = q[..., 3] - q[..., 1]
    phi5 = -(q[..., 2] - bb * tan)  # (mu_0 - median) / c for unit S0
    grid = (alphas, betas)
    return (
        linear,
        nearest,
        interpolate.RegularGridInterpolator(grid, phi3),
        interpolate.RegularGridInterpolator(grid, phi5),
        float(nu_a[-1].min()),
    )


def _mcculloch(arr):
    """McCulloch's quantile estimator, all columns at once.

    :math:`\\nu_\\alpha = (q_{.95}-q_{.05})/(q_{.75}-q_{.25})` and
    :math:`\\nu_\\beta = (q_{.95}+q_{.05}-2q_{.5})/(q_{.95}-q_{.05})` are
    inverted through the table to (alpha, beta); then
    :math:`c = (q_{.75}-q_{.25})/\\phi_3(\\alpha,\\beta)` and
    :math:`\\mu_0 = q_{.5} + c\\,\\phi_5(\\alpha,\\beta)`.
    """
    linear, nearest, phi3, phi5, nu_gauss = _mcculloch_interpolators()
    q05, q25, q50, q75, q95 = np.quantile(arr, [0.05, 0.25, 0.5, 0.75, 0.95], axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        nu_a = (q95 - q05) / (q75 - q25)
        nu_b = (q95 + q05 - 2 * q50) / (q95 - q05)
    nu_a = np.nan_to_num(nu_a, nan=nu_gauss)
    nu_b = np.nan_to_num(nu_b, nan=0.0)
    sign = np.where(nu_b < 0, -1.0, 1.0)
    pts = np.column_stack([np.maximum(nu_a, nu_gauss), np.abs(nu_b)])
    ab = linear(pts)
    bad = ~np.all(np.isfinite(ab), axis=1)
    if bad.any():
        ab[bad] = nearest(pts[bad])
    alpha = np.clip(ab[:, 0], _ALPHA_MIN, 2.0)
    beta_abs = np.clip(ab[:, 1], 0.0, 1.0)
    where = np.column_stack([alpha, beta_abs])
    scale = (q75 - q25) / phi3(where)
    loc0 = q50 + sign * scale * phi5(where)
    return alpha, sign * beta_abs, scale, loc0


def _mle(arr, alpha, beta, scale, loc):
    logger.info("levy_stable.fit on %d series: slow", arr.shape[1])
    out = np.empty((4, arr.shape[1]))
    for j in range(arr.shape[1]):  # scipy's MLE has no batch form
        a0 = float(np.clip(alpha[j], 0.51, 1.99))
        b0 = float(np.clip(beta[j], -0.99, 0.99))
        fit = stats.levy_stable.fit(arr[:, j], a0, b0, loc=loc[j], scale=scale[j])
        out[:, j] = fit
    return out[0], out[1], out[3], out[2]


# --------------------------------------------------------------------------
# Goodness of fit and verdict


def stable_cf(t, alpha, beta, scale, loc):
    """Characteristic function of S1(alpha, beta, scale, loc), ``alpha != 1``.

    Broadcasts ``t`` (K, 1) against parameters (C,).
    """
    with np.errstate(invalid="ignore", over="ignore"):
        tan = np.where(np.abs(alpha - 1) > 1e-9, np.tan(np.pi * alpha / 2), 0.0)
    mag = (scale * np.abs(t)) ** alpha
    log_phi = -mag * (1 - 1j * beta * np.sign(t) * tan) + 1j * loc * t
    return np.exp(log_phi)


def stable_gof_statistic(arr: np.ndarray, fit: StableFit) -> np.ndarray:
    """ECF distance of every column to its fitted stable law.

    :math:`D = \\sqrt{n}\\max_k|\\hat\\varphi_z(t_k) - \\varphi_z(t_k)|` on
    data standardised by the fitted scale, ``t = 0.1..2``.
    """
    n = arr.shape[0]
    out = np.full(arr.shape[1], np.nan)
    ok = np.isfinite(fit.alpha)
    z = (arr[:, ok] - fit.loc[ok]) / fit.scale[ok]
    re, im = _ecf(z, _T_GOF)
    model = stable_cf(_T_GOF[:, None], fit.alpha[ok], fit.beta[ok], 1.0, 0.0)
    out[ok] = np.sqrt(n) * np.abs(re + 1j * im - model).max(axis=0)
    return out


@functools.lru_cache(maxsize=8)
def _gof_null(n: int, method: str, replicates: int, seed: int):
    """Null quantiles of the ECF distance, by parametric bootstrap.

    Symmetric stable samples (scipy) on a grid of alpha are fitted with the
    same method; returns (alpha grid, sorted statistics (G, replicates)).
    """
    rng = np.random.default_rng(seed)
    grid = np.array([1.1, 1.3, 1.5, 1.7, 1.85, 2.0])
    sims = []
    for a in grid:
        sample = stats.levy_stable.rvs(a, 0.0, size=(n, replicates), random_state=rng)
        fit = fit_stable(sample, method=method if method != "mle" else "koutrouvelis")
        sims.append(np.sort(stable_gof_statistic(sample, fit)))
    return grid, np.array(sims)


def stable_gof_pvalue(
    arr, fit: StableFit, *, replicates: int = 200, seed: int = 0
) -> np.ndarray:
    """Parametric-bootstrap p-value of the stable fit of every column.

    The null distribution of :func:`stable_gof_statistic` is simulated once
    per ``(n, method, replicates, seed)`` at alphas 1.1..2 (beta = 0) and the
    p-value is read at the nearest simulated alpha; the smallest p-value is
    ``1 / (replicates + 1)``.
    """
    arr = as_series(arr, min_length=20)
    grid, null = _gof_null(arr.shape[0], fit.method, int(replicates), int(seed))
    stat = stable_gof_statistic(arr, fit)
    alpha = np.nan_to_num(fit.alpha, nan=2.0)
    row = np.abs(alpha[:, None] - grid[None, :]).argmin(axis=1)
    exceed = np.zeros(len(stat))
    for r in np.unique(row):  # a few alpha rows, not one pass per series
        cols = row == r
        exceed[cols] = null.shape[1] - np.searchsorted(null[r], stat[cols])
    return np.where(np.isfinite(stat), (exceed + 1) / (null.shape[1] + 1), np.nan)


@dataclasses.dataclass(frozen=True)
class MarginalVerdict:
    """Marginal law of each series: Gaussian, alpha-stable, or neither.

    Attributes:
        labels: ``(C,)`` tuple of ``"gaussian"``, ``"stable"``, ``"neither"``.
        counts: number of series per label.
        stable_pvalue: ``(C,)`` p-values of the stable goodness of fit.
        level: level of the stable goodness-of-fit test.
    """

    labels: tuple
    counts: dict
    stable_pvalue: np.ndarray
    level: float

    def to_dict(self) -> dict:
        """JSON-safe dict."""
        return {
            "labels": list(self.labels),
            "counts": dict(self.counts),
            "stable_pvalue": to_list(self.stable_pvalue),
            "level": float(self.level),
        }


def marginal_verdict(
    x,
    gaussian_rejected,
    fit: StableFit | None = None,
    *,
    level: float = 0.05,
    seed: int = 0,
) -> MarginalVerdict:
    """Labels each series by its marginal law.

    ``"gaussian"`` when the normality battery (BH over the columns) does not
    reject it; otherwise ``"stable"`` when the stable fit passes the
    goodness-of-fit test at ``level`` (no multiplicity control, so about
    ``level`` of truly stable series are called ``"neither"``); otherwise
    ``"neither"``. Measured error rates are in docs/stats.md.

    Args:
        x: ``(T, C)`` array.
        gaussian_rejected: ``(C,)`` booleans, e.g.
            ``gaussianity(x).rejected_any``.
        fit: a :class:`StableFit` of ``x`` (fitted here when ``None``).
        level: level of the stable goodness-of-fit test.
        seed: seed of the bootstrap null distribution.

    Returns:
        A :class:`MarginalVerdict`.
    """
    arr = as_series(x, min_length=20)
    check_open_unit("level", level)
    rejected = np.asarray(gaussian_rejected, dtype=bool).ravel()
    if rejected.shape != (arr.shape[1],):
        raise ValueError(
            f"`gaussian_rejected` must have one entry per series ({arr.shape[1]}). "
            f"Received: shape {rejected.shape}"
        )
    fit = fit_stable(arr) if fit is None else fit
    pvalue = stable_gof_pvalue(arr, fit, seed=seed)
    labels = np.where(
        ~rejected, VERDICTS[0], np.where(pvalue >= level, VERDICTS[1], VERDICTS[2])
    )
    counts = {name: int(np.sum(labels == name)) for name in VERDICTS}
    return MarginalVerdict(
        labels=tuple(labels.tolist()),
        counts=counts,
        stable_pvalue=pvalue,
        level=float(level),
    )
