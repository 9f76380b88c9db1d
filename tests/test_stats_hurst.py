"""Hurst estimators against exact fGn with known H.

Known answers come from ``test_stats_generators.fgn`` (Cholesky of the
Toeplitz covariance; independent of memsgd.sde). Tolerances are sized from
the estimators' spread: with R replications the mean has SD ~ sd / sqrt(R),
and every tolerance is at least 4 such SDs away from the measured bias
(false-failure rate below 1e-4 per check, seeds fixed).
"""

import json

import numpy as np
import pytest
from scipy import integrate, optimize
from test_stats_generators import fgn, fgn_autocovariance

from memsgd import stats as ms
from memsgd.stats import _hurst as hurst_mod

N = 1024
REPS = 200


@pytest.mark.parametrize("h", [0.1, 0.3, 0.5, 0.7, 0.9])
def test_spectral_density_integrates_to_autocovariance(h):
    # gamma(k) = int_{-pi}^{pi} f(l) cos(k l) dl (closed form on the right).
    # f ~ l^(1-2H) at 0: on [0, 0.5] the substitution l = u^10 removes the
    # singularity; on [0.5, pi] quad's cosine weight handles the
    # oscillation. Tolerance 1e-5 (quadrature + truncated sum).
    def head(u, k):
        lam = u**10
        return 20 * u**9 * ms.fgn_spectral_density(lam, h) * np.cos(k * lam)

    def tail(lam):
        return 2 * ms.fgn_spectral_density(lam, h)

    for k in (0, 1, 2, 10):
        val = integrate.quad(head, 0, 0.5**0.1, args=(k,), limit=200)[0]
        val += integrate.quad(tail, 0.5, np.pi, weight="cos", wvar=k)[0]
        assert val == pytest.approx(fgn_autocovariance(k, h), abs=1e-5)


def test_whittle_grid_refinement_matches_scalar_optimiser():
    # Reference: minimise the same Whittle objective with scipy's bounded
    # Brent method, evaluating the density at each trial H. The grid plus
    # parabola should agree to 2e-3 (grid step 0.01).
    x = fgn(512, 0.3, 6, seed=3)
    freqs, power = ms.periodogram(x)
    got = ms.hurst(x).estimate
    for j in range(x.shape[1]):

        def objective(h, col=power[:, j]):
            f = ms.fgn_spectral_density(freqs, h)
            return np.log(np.mean(col / f)) + np.mean(np.log(f))

        ref = optimize.minimize_scalar(
            objective, bounds=(0.01, 0.99), method="bounded",
            options={"xatol": 1e-6},
        ).x  # fmt: skip
        assert got[j] == pytest.approx(ref, abs=2e-3)


@pytest.mark.parametrize("h", [0.1, 0.2, 0.5, 0.8, 0.9])
def test_default_whittle_bias_and_stderr(h):
    # Issue target: |mean bias| <= 0.02 at n = 1024. Measured bias <= 0.006,
    # SD ~0.02, so the mean of 200 has SD 0.0015: a wide margin.
    x = fgn(N, h, REPS, seed=int(h * 100))
    res = ms.hurst(x)
    assert res.method == "whittle" and res.kind == "noise"
    assert abs(res.estimate.mean() - h) <= 0.02
    # The asymptotic stderr should describe the spread (within 25%).
    assert res.stderr.mean() == pytest.approx(res.estimate.std(), rel=0.25)
    # ~95% of the intervals cover the truth (binomial SD 1.5 pp at 200).
    cover = np.mean((res.ci_low <= h) & (h <= res.ci_high))
    assert 0.88 <= cover <= 0.995


def test_negative_control_path_fed_as_noise_fails():
    # The classic mistake: estimating on the cumulative path as if it were
    # the noise. The default estimator then lands at the top of its range.
    x = fgn(N, 0.3, 50, seed=7)
    path = np.cumsum(x, axis=0)
    wrong = ms.hurst(path, kind="noise").estimate.mean()
    assert abs(wrong - 0.3) > 0.3
    # The right kind gives exactly the noise answer (path is differenced).
    right = ms.hurst(np.vstack([np.zeros((1, 50)), path]), kind="path")
    np.testing.assert_allclose(right.estimate, ms.hurst(x).estimate)


def test_rs_correction_is_needed():
    # White noise (H = 0.5): Anis-Lloyd-Peters corrected R/S is unbiased
    # (measured -0.007, SD 0.041 / sqrt(200) = 0.003); the classical
    # uncorrected R/S is biased up by ~0.05 (Weron 2002, fig. 2) and fails
    # the same 0.02 tolerance: the negative control.
    x = fgn(N, 0.5, REPS, seed=11)
    corrected = ms.hurst(x, "rs").estimate.mean()
    uncorrected = ms.hurst(x, "rs", correction=False).estimate.mean()
    assert abs(corrected - 0.5) <= 0.02
    assert uncorrected - 0.5 > 0.03


def test_expected_rescaled_range_matches_simulation():
    # Monte Carlo reference: mean R/S of 20000 white-noise blocks (relative
    # SD of the mean 0.0016). The Anis-Lloyd-Peters formula is itself an
    # approximation: measured -3.0% at n = 16, -1.5% at 32, -0.6% at 64,
    # < 0.2% from 256 on; tolerances 4%, 2%, 1%, 0.6%.
    rng = np.random.default_rng(5)
    for n, tol in ((16, 0.04), (32, 0.02), (64, 0.01), (256, 0.006)):
        x = rng.standard_normal((n, 20000))
        dev = x - x.mean(axis=0)
        walk = np.cumsum(dev, axis=0)
        rs = (walk.max(axis=0) - walk.min(axis=0)) / dev.std(axis=0)
        assert ms.expected_rescaled_range(n)[0] == pytest.approx(rs.mean(), rel=tol)


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("h", [0.5, 0.8])
def test_dfa_bias_and_path_control(order, h):
    # DFA of a noise scales as s^H. Measured |bias| <= 0.006 at n = 1024 with
    # SD <= 0.06 (mean of 200: SD 0.004); tolerance 0.03.
    x = fgn(N, h, REPS, seed=21 + order)
    assert abs(ms.hurst(x, "dfa", order=order).estimate.mean() - h) <= 0.03
    # Negative control: DFA on the path as if noise measures H + 1.
    path = np.cumsum(x[:, :20], axis=0)
    wrong = ms.hurst(path, "dfa", order=order).estimate.mean()
    assert abs(wrong - h) > 0.5


def test_gph_bias_and_path_control():
    # GPH with m = n^0.5 = 32: measured SD 0.134, so the mean of 200 has
    # SD 0.009. Tolerance 0.04 on the noise.
    x = fgn(N, 0.7, REPS, seed=31)
    res = ms.hurst(x, "gph")
    assert abs(res.estimate.mean() - 0.7) <= 0.04
    # Its stderr (pi^2/6 over the regressor's sum of squares) describes the
    # spread across replications (within 15%; SD of an SD from 200 is 5%).
    assert res.stderr[0] == pytest.approx(res.estimate.std(), rel=0.15)
    # Negative control from the issue: GPH on the path, not the noise.
    wrong = ms.hurst(np.cumsum(x, axis=0), "gph").estimate.mean()
    assert abs(wrong - 0.7) > 0.2


@pytest.mark.parametrize("h", [0.5, 0.8])
def test_local_whittle_bias(h):
    # Robinson (1995): SD 1 / (2 sqrt(m)), m = n^0.65 = 90 -> 0.053; mean of
    # 200 has SD 0.004; measured |bias| <= 0.008; tolerance 0.03.
    x = fgn(N, h, REPS, seed=41)
    assert abs(ms.hurst(x, "local_whittle").estimate.mean() - h) <= 0.03


@pytest.mark.parametrize("h", [0.2, 0.8])
def test_aggvar_bias(h):
    # Measured |bias| <= 0.012 with the fGn mean correction, SD <= 0.07;
    # mean of 200 has SD 0.005; tolerance 0.03.
    x = fgn(N, h, REPS, seed=51)
    assert abs(ms.hurst(x, "aggvar").estimate.mean() - h) <= 0.03


def test_columns_are_independent_of_each_other():
    # Vectorised result == one column at a time (brute-force reference).
    x = fgn(256, 0.6, 4, seed=2)
    for method in hurst_mod.METHODS:
        full = ms.hurst(x, method).estimate
        single = [ms.hurst(x[:, j], method).estimate[0] for j in range(4)]
        np.testing.assert_allclose(full, single, rtol=1e-9, err_msg=method)


def test_classify_memory():
    # n = 1024, Whittle SE ~0.017: H = 0.3 and 0.8 are > 10 SE from 0.5,
    # so every series is classified; white noise: ~95% uncorrelated.
    anti = ms.classify_memory(ms.hurst(fgn(N, 0.3, 50, seed=61)))
    pers = ms.classify_memory(ms.hurst(fgn(N, 0.8, 50, seed=62)))
    white = ms.classify_memory(ms.hurst(fgn(N, 0.5, 400, seed=63)))
    assert anti.counts["anti-persistent"] == 50
    assert pers.counts["persistent"] == 50
    assert 0.9 <= white.counts["uncorrelated"] / 400 <= 0.99


def test_sliding_hurst_follows_a_change():
    # First half H = 0.3, second half H = 0.8; windows of 512.
    x = np.vstack([fgn(2048, 0.3, 8, seed=71), fgn(2048, 0.8, 8, seed=72)])
    res = ms.sliding_hurst(x, window=512, step=512)
    assert res.estimate.shape == (8, 8)
    assert abs(res.estimate[:4].mean() - 0.3) < 0.03
    assert abs(res.estimate[4:].mean() - 0.8) < 0.03
    json.dumps(res.to_dict())


def test_result_is_json_safe_and_one_dimensional_input_works():
    res = ms.hurst(fgn(256, 0.5, 1, seed=0)[:, 0], "dfa", order=2)
    assert res.estimate.shape == (1,)
    out = json.loads(json.dumps(res.to_dict()))
    assert set(out) >= {"estimate", "stderr", "ci_low", "ci_high", "method", "kind"}


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"x": np.zeros((4, 4, 4))}, "`x` must be 1-D"),
        ({"x": np.full((100, 2), np.nan)}, "`x` must be finite"),
        ({"x": np.ones((10, 2))}, "at least 32 time steps"),
        ({"x": np.ones((100, 2)), "method": "wavelet"}, "`method` must be one of"),
        ({"x": np.ones((100, 2)), "kind": "increments"}, "`kind` must be one of"),
        ({"x": np.ones((100, 2)), "method": "dfa", "order": 3}, "`order`"),
        ({"x": np.ones((100, 2)), "confidence": 1.5}, "`confidence`"),
        ({"x": np.ones((60, 2)), "method": "rs"}, "at least 64 time steps"),
        ({"x": np.ones((150, 2)), "method": "dfa", "order": 2}, "at least 160"),
    ],
)
def test_bad_input_names_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ms.hurst(**kwargs)


def test_constant_series_has_no_estimate():
    x = np.column_stack([np.ones(256), fgn(256, 0.5, 1, seed=0)[:, 0]])
    est = ms.hurst(x).estimate
    assert np.isnan(est[0]) and np.isfinite(est[1])
