"""Fractional Gaussian noise: covariance, likelihood and the embedding.

Expected values come from the closed-form fGn autocovariance
gamma(k) = (|k+1|^{2H} - 2|k|^{2H} + |k-1|^{2H}) / 2 (Mandelbrot & Van Ness
1968), computed here independently of memsgd, and from
scipy.stats.multivariate_normal with the Toeplitz covariance.
"""

import numpy as np
import pytest
import scipy.linalg
import scipy.stats

tf = pytest.importorskip("tensorflow")

from memsgd.sde import FractionalGaussianNoise, _fgn  # noqa: E402

HURSTS = (0.05, 0.3, 0.5, 0.7, 0.95)
LENGTHS = (100, 1000, 4097)
# Sample counts: about 4e5-8e5 numbers per case keeps the suite fast.
SAMPLES = {100: 4000, 1000: 600, 4097: 200}
# Lags checked: the first 10 and a few far ones.
Z_LIMIT = 5.0  # two-sided p ~ 6e-7 per lag; ~300 comparisons -> ~2e-4 in all


def gamma_reference(hurst, lags):
    """fGn autocovariance, written out here from the closed form."""
    k = np.asarray(lags, dtype=float)
    h2 = 2.0 * hurst
    return 0.5 * (np.abs(k + 1) ** h2 - 2 * np.abs(k) ** h2 + np.abs(k - 1) ** h2)


def autocov_zscores(x, hurst, lags):
    """z-scores of the sample autocovariance against gamma(k).

    Each independent series gives c_i(k) = mean_t x_t x_{t+k}; the mean over
    series has standard error sd(c_i(k)) / sqrt(M) (independent series).
    """
    z = []
    for k in lags:
        c = np.mean(x[:, : x.shape[1] - k] * x[:, k:], axis=1)
        se = c.std(ddof=1) / np.sqrt(c.size)
        z.append((c.mean() - gamma_reference(hurst, k)) / se)
    return np.array(z)


def lags_for(n):
    return [k for k in (*range(10), 31, 97, n // 2) if k < n]


@pytest.mark.parametrize("n", LENGTHS)
@pytest.mark.parametrize("hurst", HURSTS)
def test_sample_autocovariance_matches_gamma(hurst, n):
    dist = FractionalGaussianNoise(tf.constant(hurst, tf.float64), n)
    x = dist.sample(SAMPLES[n], seed=(7, n)).numpy()
    assert x.shape == (SAMPLES[n], n)
    z = autocov_zscores(x, hurst, lags_for(n))
    assert np.max(np.abs(z)) < Z_LIMIT, z


@pytest.mark.parametrize("hurst", (0.3, 0.7))
def test_autocovariance_check_rejects_wrong_hurst(hurst):
    # Negative control: the same check against gamma of H + 0.05 must fail,
    # so the check above has power at these sample sizes.
    n = 1000
    dist = FractionalGaussianNoise(tf.constant(hurst, tf.float64), n)
    x = dist.sample(SAMPLES[n], seed=(7, n)).numpy()
    z = autocov_zscores(x, hurst + 0.05, lags_for(n))
    assert np.max(np.abs(z)) > Z_LIMIT


def test_scale_multiplies_the_covariance():
    # Var(x_t) = scale^2 gamma(0) = scale^2; relative SE of a variance from
    # N = 4e5 values of a short-memory series is ~0.3%; 3% is > 5 SE.
    dist = FractionalGaussianNoise(tf.constant(0.3, tf.float64), 100, scale=2.5)
    x = dist.sample(4000, seed=3).numpy()
    np.testing.assert_allclose(x.var(), 6.25, rtol=0.03)


def test_embedding_eigenvalues_non_negative_and_fbm_row_is_not():
    # Our row gamma(0..n-1), gamma(n), gamma(n-1..1) has eigenvalues >= 0 for
    # all H (Craigmile 2003). The fbm package's row puts 0 where gamma(n)
    # belongs; for H near 1 that circulant has negative eigenvalues (at
    # n = 1000 from H = 0.9 on; checked with numpy here), which is why fbm
    # falls back to Hosking's O(n^2) method there.
    n = 1000
    for hurst in (0.05, 0.5, 0.9, 0.95, 0.99):
        eig = _fgn._circulant_eigenvalues(tf.constant([hurst], tf.float64), n)
        eig = eig.numpy()[0]
        assert eig.min() >= -1e-10 * eig.max(), hurst
        gamma = gamma_reference(hurst, np.arange(n))
        wrong_row = np.concatenate([gamma, [0.0], gamma[1:][::-1]])
        wrong = np.fft.fft(wrong_row).real
        if hurst >= 0.9:
            assert wrong.min() < -1e-6 * wrong.max(), hurst


def test_cholesky_fallback_is_exact(monkeypatch):
    # Force the fallback by declaring every embedding failed; the samples must
    # still have the fGn covariance.
    monkeypatch.setattr(_fgn, "_EIGEN_RTOL", -2.0)
    hurst, n = 0.95, 100
    dist = FractionalGaussianNoise(tf.constant(hurst, tf.float64), n)
    x = dist.sample(4000, seed=11).numpy()
    z = autocov_zscores(x, hurst, lags_for(n))
    assert np.max(np.abs(z)) < Z_LIMIT, z


@pytest.mark.parametrize("n", (1, 2, 100, 257))
def test_log_prob_matches_scipy(n):
    hursts = np.array(HURSTS)
    scale = 1.7
    dist = FractionalGaussianNoise(tf.constant(hursts), n, scale=scale)
    x = dist.sample(3, seed=5)
    assert x.shape == (3, hursts.size, n)
    ours = dist.log_prob(x).numpy()
    for b, hurst in enumerate(hursts):
        cov = scale**2 * scipy.linalg.toeplitz(gamma_reference(hurst, np.arange(n)))
        ref = scipy.stats.multivariate_normal(np.zeros(n), cov).logpdf(x.numpy()[:, b])
        # float64 throughout; Levinson vs. scipy's eigendecomposition.
        np.testing.assert_allclose(ours[:, b], ref, rtol=1e-8, atol=1e-8)


def test_log_prob_is_differentiable_and_peaks_near_truth():
    # The exact likelihood gives a maximum-likelihood H; on 20 series of 256
    # steps the MLE's SE is ~0.01, so the grid argmax is within 0.03.
    n = 256
    x = FractionalGaussianNoise(tf.constant(0.7, tf.float64), n).sample(20, seed=9)
    grid = np.linspace(0.5, 0.9, 21)
    dist = FractionalGaussianNoise(tf.constant(grid)[:, None], n)
    total = tf.reduce_sum(dist.log_prob(x[None]), axis=-1).numpy()
    assert abs(grid[np.argmax(total)] - 0.7) < 0.03
    hurst = tf.Variable(0.6, dtype=tf.float64)
    with tf.GradientTape() as tape:
        lp = tf.reduce_sum(FractionalGaussianNoise(hurst, n).log_prob(x))
    grad = tape.gradient(lp, hurst).numpy()
    assert np.isfinite(grad) and grad > 0  # likelihood increases towards 0.7


def test_batch_and_sample_shapes():
    dist = FractionalGaussianNoise([0.3, 0.7], 50, scale=[[1.0], [2.0]])
    assert dist.batch_shape == (2, 2)
    assert dist.event_shape == (50,)
    x = dist.sample([4, 3], seed=1)
    assert x.shape == (4, 3, 2, 2, 50)
    assert dist.log_prob(x).shape == (4, 3, 2, 2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"hurst": 1.2, "num_steps": 10}, "`hurst` must be in (0, 1). Received"),
        ({"hurst": 0.0, "num_steps": 10}, "`hurst` must be in (0, 1)"),
        ({"hurst": 0.5, "num_steps": 0}, "`num_steps` must be an integer >= 1"),
        ({"hurst": 0.5, "num_steps": 10, "scale": -1.0}, "`scale` must be in"),
    ],
)
def test_bad_input_is_named(kwargs, message):
    with pytest.raises(
        ValueError, match=message.replace("(", r"\(").replace(")", r"\)")
    ):
        FractionalGaussianNoise(**kwargs)
