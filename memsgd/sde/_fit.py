"""Which noise driver reproduces a stochastic-gradient-noise matrix?

``fit_drivers`` fits the three drivers per coordinate, simulates series of
the data's shape from each fit, and scores each against the data on the
marginal law and on the autocorrelation (schema section 3).
"""

from __future__ import annotations

import dataclasses
import logging
import math

import numpy as np
import tensorflow as tf

from memsgd.sde._fgn import FractionalGaussianNoise
from memsgd.sde._stable import StableDistribution

logger = logging.getLogger(__name__)

__all__ = ["DriverComparison", "fit_drivers"]

DRIVERS = ("brownian", "levy", "fbm")

SCORE_DEFINITION = (
    "score = mean over coordinates of (KS + ACF) / sqrt(2/T), where KS is the "
    "two-sample Kolmogorov-Smirnov statistic between the data and a series "
    "simulated from the fitted driver, each standardised by its own median "
    "and interquartile range, and ACF is the root-mean-square difference of "
    "their autocorrelations at lags 1..max_lag; both distances are in units "
    "of two-sample sampling noise (sqrt(2/T)), lower is better, and about "
    "2 means indistinguishable from the data."
)


@dataclasses.dataclass(frozen=True)
class DriverComparison:
    """Fitted drivers and how well each reproduces the data.

    Attributes:
      params: driver -> summary parameters (medians over coordinates).
      marginal_distance: driver -> mean KS statistic.
      acf_distance: driver -> mean RMS autocorrelation difference.
      score: driver -> mean score (see ``score_definition``).
      ranking: drivers from best to worst score.
      confidence: share of bootstrap resamples of coordinates in which the
        best driver stays best.
      per_coordinate_score: driver -> (C,) scores (not in ``to_dict``).
      num_coordinates: coordinates used (finite fits, non-constant).
      max_lag: lags of the ACF distance.
    """

    params: dict
    marginal_distance: dict
    acf_distance: dict
    score: dict
    ranking: tuple
    confidence: float
    per_coordinate_score: dict
    num_coordinates: int
    max_lag: int
    score_definition: str = SCORE_DEFINITION

    @property
    def best(self) -> str:
        """The driver with the lowest score."""
        return self.ranking[0]

    def to_dict(self) -> dict:
        """JSON-safe dict with exactly the keys of summary-schema section 3."""
        return {
            "drivers": {
                name: {
                    "params": {k: float(v) for k, v in self.params[name].items()},
                    "marginal_distance": float(self.marginal_distance[name]),
                    "acf_distance": float(self.acf_distance[name]),
                    "score": float(self.score[name]),
                }
                for name in DRIVERS
            },
            "best": self.best,
            "ranking": list(self.ranking),
            "score_definition": self.score_definition,
            "confidence": float(self.confidence),
        }


def _robust_standardise(x):
    """(x - median) / IQR per column."""
    median = np.median(x, axis=0)
    q75, q25 = np.percentile(x, [75, 25], axis=0)
    iqr = np.where(q75 > q25, q75 - q25, 1.0)
    return (x - median) / iqr


def ks_two_sample(a, b):
    """Two-sample KS statistic per column: sup_t |F_a(t) - F_b(t)|.

    Args:
      a: (n, C).
      b: (m, C).

    Returns:
      (C,) statistics.
    """
    a = np.sort(a, axis=0)
    b = np.sort(b, axis=0)
    pooled = np.concatenate([a, b], axis=0)
    stats = np.empty(a.shape[1])
    for c in range(a.shape[1]):
        fa = np.searchsorted(a[:, c], pooled[:, c], side="right") / a.shape[0]
        fb = np.searchsorted(b[:, c], pooled[:, c], side="right") / b.shape[0]
        stats[c] = np.max(np.abs(fa - fb))
    return stats


def _acf(x, max_lag):
    """Sample autocorrelation (max_lag + 1, C) by FFT."""
    from memsgd import stats  # sde may import stats, never the reverse

    return stats.acf(x, max_lag=max_lag).acf


def fit_drivers(
    x,
    seed: int = 0,
    *,
    max_lag: int = 20,
    num_bootstrap: int = 200,
) -> DriverComparison:
    """Fits Brownian, alpha-stable and fractional drivers to an SGN matrix.

    Per coordinate c of x (T x C), the SGN is modelled as the increments of
    sigma dL over one iteration:

    - Brownian: x_t = sigma_c Z_t, Z iid N(0, 1); sigma_c = sample std.
    - Levy: x_t iid S1(alpha_c, beta_c, scale_c, loc_c), fitted by
      ``memsgd.stats.fit_stable``.
    - fBM: x is fGn with Hurst index H_c (``memsgd.stats.hurst``, Whittle) and
      scale sigma_c = sample std.

    From each fit one series of length T per coordinate is simulated (with the
    TFP distributions of this package), then scored against the data; see
    ``SCORE_DEFINITION``. The ranking uses the mean score; ``confidence`` is
    the share of ``num_bootstrap`` resamples of the coordinates (with
    replacement) in which the best driver keeps the lowest mean score.

    Args:
      x: (T, C) array, T >= 64 steps, C >= 1 coordinates.
      seed: seed of the simulation and the bootstrap.
      max_lag: lags 1..max_lag enter the ACF distance.
      num_bootstrap: bootstrap resamples for ``confidence``.

    Returns:
      A ``DriverComparison``.
    """
    from memsgd import stats

    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, np.newaxis]
    if x.ndim != 2 or x.shape[0] < 64 or x.shape[1] < 1:
        raise ValueError(
            "`x` must be a (T, C) array with T >= 64 and C >= 1. "
            f"Received: x of shape {x.shape}"
        )
    if not 1 <= int(max_lag) < x.shape[0] // 2:
        raise ValueError(
            f"`max_lag` must be in [1, T/2). Received: max_lag={max_lag}, "
            f"T={x.shape[0]}"
        )
    num_steps = x.shape[0]

    sigma = x.std(axis=0, ddof=1)
    hurst = stats.hurst(x, method="whittle").estimate
    stable = stats.fit_stable(x)
    finite = (
        np.isfinite(x).all(axis=0)
        & (sigma > 0)
        & np.isfinite(hurst)
        & np.isfinite(stable.alpha)
        & np.isfinite(stable.beta)
        & np.isfinite(stable.scale)
        & np.isfinite(stable.loc)
    )
    if not finite.any():
        raise ValueError("`x` has no coordinate where all three drivers can be fitted")
    if not finite.all():
        logger.info("fit_drivers: dropped %d coordinates", int((~finite).sum()))
    x, sigma, hurst = x[:, finite], sigma[finite], hurst[finite]
    alpha, beta = stable.alpha[finite], stable.beta[finite]
    scale, loc = stable.scale[finite], stable.loc[finite]
    # Whittle may return the ends of its grid; fGn needs H strictly in (0, 1).
    hurst = np.clip(hurst, 0.01, 0.99)
    alpha = np.clip(alpha, 0.1, 2.0)
    beta = np.clip(beta, -1.0, 1.0)

    seeds = [(seed, i) for i in range(3)]
    simulated = {
        "brownian": (
            tf.random.stateless_normal(
                [num_steps, sigma.size], seeds[0], dtype=tf.float64
            ).numpy()
            * sigma
        ),
        "levy": StableDistribution(alpha, beta, scale, loc)
        .sample(num_steps, seed=seeds[1])
        .numpy(),
        "fbm": FractionalGaussianNoise(hurst, num_steps, scale=sigma)
        .sample(seed=seeds[2])
        .numpy()
        .T,
    }

    data_std = _robust_standardise(x)
    data_acf = _acf(x, max_lag)[1:]
    noise_unit = math.sqrt(2.0 / num_steps)
    marginal, acf_dist, per_coord = {}, {}, {}
    for name in DRIVERS:
        sim = simulated[name]
        ks = ks_two_sample(data_std, _robust_standardise(sim))
        sim_acf = _acf(sim, max_lag)[1:]
        rms = np.sqrt(np.nanmean((sim_acf - data_acf) ** 2, axis=0))
        marginal[name] = float(np.mean(ks))
        acf_dist[name] = float(np.mean(rms))
        per_coord[name] = (ks + rms) / noise_unit
    score = {name: float(np.mean(per_coord[name])) for name in DRIVERS}
    ranking = tuple(sorted(DRIVERS, key=lambda name: score[name]))

    rng = np.random.default_rng(seed)
    matrix = np.stack([per_coord[name] for name in DRIVERS])  # (3, C)
    index = rng.integers(0, matrix.shape[1], size=(num_bootstrap, matrix.shape[1]))
    boot_means = matrix[:, index].mean(axis=2)  # (3, B)
    best_index = DRIVERS.index(ranking[0])
    confidence = float(np.mean(np.argmin(boot_means, axis=0) == best_index))

    params = {
        "brownian": {"sigma": float(np.median(sigma))},
        "levy": {
            "alpha": float(np.median(alpha)),
            "beta": float(np.median(beta)),
            "sigma": float(np.median(scale)),
        },
        "fbm": {"hurst": float(np.median(hurst)), "sigma": float(np.median(sigma))},
    }
    return DriverComparison(
        params=params,
        marginal_distance=marginal,
        acf_distance=acf_dist,
        score=score,
        ranking=ranking,
        confidence=confidence,
        per_coordinate_score=per_coord,
        num_coordinates=int(sigma.size),
        max_lag=int(max_lag),
    )
