"""Independent known-answer generators for the stats tests, and their checks.

Nothing here uses memsgd: fGn comes from the Cholesky factor of its Toeplitz
covariance (exact, O(n^3), Hosking/Cholesky method), alpha-stable samples
from scipy, Student-t and Gaussian samples from numpy.
"""

import functools

import numpy as np
from scipy import linalg, stats


def fgn_autocovariance(lags, hurst):
    """gamma(k) = 0.5 (|k+1|^2H - 2|k|^2H + |k-1|^2H), unit variance."""
    k = np.abs(np.asarray(lags, dtype=np.float64))
    return 0.5 * (np.abs(k + 1) ** (2 * hurst) - 2 * k ** (2 * hurst)
                  + np.abs(k - 1) ** (2 * hurst))  # fmt: skip


@functools.lru_cache(maxsize=16)
def _cholesky(n, hurst):
    return np.linalg.cholesky(linalg.toeplitz(fgn_autocovariance(np.arange(n), hurst)))


def fgn(n, hurst, reps, seed):
    """(n, reps) exact fractional Gaussian noise with Hurst exponent ``hurst``."""
    z = np.random.default_rng(seed).standard_normal((n, reps))
    return _cholesky(n, hurst) @ z


def stable(alpha, n, reps, seed, beta=0.0, loc=0.0, scale=1.0):
    """(n, reps) alpha-stable draws from scipy (S1 parameterization)."""
    rng = np.random.default_rng(seed)
    return stats.levy_stable.rvs(
        alpha, beta, loc=loc, scale=scale, size=(n, reps), random_state=rng
    )


def student_t(df, n, reps, seed):
    return np.random.default_rng(seed).standard_t(df, size=(n, reps))


def test_fgn_sample_autocovariance_matches_formula():
    # 400 series of length 256: the sample lag-k covariance averaged over
    # series has SD ~ 1/sqrt(400 * 256) ~ 0.003; tolerance 0.02.
    for h in (0.2, 0.8):
        x = fgn(256, h, 400, seed=1)
        for k in (0, 1, 2, 5):
            emp = np.mean(x[: 256 - k] * x[k:])
            assert abs(emp - fgn_autocovariance(k, h)) < 0.02, (h, k, emp)


def test_fgn_half_is_white_noise():
    # H = 1/2: gamma(k) = 0 for k >= 1 exactly, so the Cholesky factor is I.
    np.testing.assert_allclose(_cholesky(16, 0.5), np.eye(16), atol=1e-12)
