"""Normality battery, BH control, ACF and Ljung-Box.

Known answers: Gaussian white noise (every null true), Student-t(3), AR(1)
with known lag-1 correlation; references are scipy's own tests and
brute-force formulas written out here.
"""

import inspect
import json

import numpy as np
import pytest
from scipy import stats
from test_stats_generators import student_t

from memsgd import stats as ms
from memsgd.stats._gaussianity import TESTS


def test_nominal_rejection_rate_on_gaussian_data():
    # Every test at p < 0.05 on 2000 Gaussian series of n = 500 should
    # reject 5% +- 2 pp (the bound). Binomial SD is 0.49 pp, so the
    # bound is 4 SDs (false failure ~6e-5 per test); measured rates at this
    # seed are within 1 pp.
    x = np.random.default_rng(100).standard_normal((500, 2000))
    res = ms.gaussianity(x)
    for name in TESTS:
        assert abs(res.fraction_rejected_raw(name) - 0.05) <= 0.02, name
    # BH over 2000 true nulls: the false-discovery rate bounds the
    # probability of any rejection at 5%; a handful at most.
    assert res.fraction_rejected() <= 0.005


def test_student_t3_is_always_rejected():
    # t(3) at n = 1000: every test, after BH, rejects all 200 series
    # (measured 100%); the issue asks for "almost always": >= 99%.
    res = ms.gaussianity(student_t(3, 1000, 200, seed=101))
    assert res.fraction_rejected() >= 0.99
    for name in res.pvalues:
        assert res.fraction_rejected(name) >= 0.95, name


def test_negative_control_pooled_mixed_scales_look_non_gaussian():
    # Gaussian coordinates with different scales are each Gaussian (not
    # rejected), but the pooled sample is a scale mixture and is rejected:
    # the test must be run per coordinate.
    rng = np.random.default_rng(102)
    x = rng.standard_normal((200, 20)) * rng.uniform(0.2, 3, 20)
    assert ms.gaussianity(x).fraction_rejected() <= 0.1
    assert ms.gaussianity(x.ravel()).fraction_rejected() == 1.0


# D'Agostino & Stephens (1986, Table 4.7): upper-tail points of the
# modified statistic A^2 (1 + 0.75/n + 2.25/n^2), both parameters estimated;
# scipy >= 1.17 interpolates this table.
_AD_SIG = np.array([0.15, 0.10, 0.05, 0.025, 0.01])
_AD_CRIT = np.array([0.561, 0.631, 0.752, 0.873, 1.035])


def _scipy_anderson(x):
    """scipy's A^2 and the table-interpolated p-value, on any supported scipy.

    scipy >= 1.17 gives the p-value (``method="interpolate"``). Older scipy
    has no ``method`` and tabulates Stephens' (1974) points with another
    small-sample factor (p-values up to 0.01 apart at n = 300, and not what
    memsgd implements); there the 1986 table is interpolated as 1.17 does.
    """
    if "method" in inspect.signature(stats.anderson).parameters:
        ref = stats.anderson(x, method="interpolate")
        return ref.statistic, ref.pvalue
    stat = stats.anderson(x).statistic
    n = len(x)
    crit = np.around(_AD_CRIT / (1 + 0.75 / n + 2.25 / n**2), 3)
    return stat, float(np.interp(stat, crit, _AD_SIG))


def test_anderson_darling_matches_scipy():
    # Statistic: scipy.stats.anderson (same ddof=1 standardisation), to
    # 1e-10. p-value: scipy's table interpolation is only defined inside
    # [0.01, 0.15]; there the D'Agostino-Stephens formula agrees to 0.01.
    rng = np.random.default_rng(103)
    x = rng.standard_t(8, size=(300, 60))
    stat, p = ms.anderson_darling(x)
    compared = 0
    for j in range(x.shape[1]):
        ref_stat, ref_p = _scipy_anderson(x[:, j])
        assert stat[j] == pytest.approx(ref_stat, rel=1e-10)
        if 0.015 < ref_p < 0.145:
            assert p[j] == pytest.approx(ref_p, abs=0.01)
            compared += 1
    assert compared >= 5


def test_benjamini_hochberg_matches_brute_force():
    # Reference: the step-up rule written as a loop over k.
    rng = np.random.default_rng(104)
    p = np.concatenate([rng.uniform(size=80), rng.uniform(0, 0.002, size=20)])
    got = ms.benjamini_hochberg(p, 0.1)
    order = np.argsort(p)
    k_max = 0
    for k in range(1, p.size + 1):
        if p[order[k - 1]] <= 0.1 * k / p.size:
            k_max = k
    ref = np.zeros(p.size, dtype=bool)
    ref[order[:k_max]] = True
    np.testing.assert_array_equal(got, ref)


def test_gaussianity_to_dict_and_bad_input():
    res = ms.gaussianity(np.random.default_rng(0).standard_normal((100, 3)))
    json.dumps(res.to_dict())
    with pytest.raises(ValueError, match="`fdr` must be in"):
        ms.gaussianity(np.ones((100, 3)), fdr=5)
    with pytest.raises(ValueError, match="`tests` must be"):
        ms.gaussianity(np.ones((100, 3)), tests=("lilliefors",))


def test_acf_matches_brute_force_and_ar1():
    # Reference 1: the biased sample autocorrelation written as sums.
    rng = np.random.default_rng(105)
    x = rng.standard_normal((300, 3))
    res = ms.acf(x, 5)
    for j in range(3):
        c = x[:, j] - x[:, j].mean()
        for k in range(6):
            ref = np.sum(c[: 300 - k] * c[k:]) / np.sum(c * c)
            assert res.acf[k, j] == pytest.approx(ref, abs=1e-12)
    assert res.band == pytest.approx(1.96 / np.sqrt(300), rel=1e-3)
    # Reference 2: AR(1) with phi = 0.6 has rho(1) = 0.6, rho(2) = 0.36;
    # n = 20000, SD ~0.006; tolerance 0.03.
    e = rng.standard_normal(20000)
    y = np.empty_like(e)
    y[0] = e[0]
    for t in range(1, e.size):
        y[t] = 0.6 * y[t - 1] + e[t]
    rho = ms.acf(y, 2).acf[:, 0]
    np.testing.assert_allclose(rho, [1.0, 0.6, 0.36], atol=0.03)


def test_ljung_box_size_power_and_formula():
    # Size: white noise, n = 300, h = 10; P(p < 0.05) ~ 5%; over 2000
    # series the binomial SD is 0.5 pp; accept 5% +- 2 pp.
    rng = np.random.default_rng(106)
    lb = ms.ljung_box(rng.standard_normal((300, 2000)), 10)
    assert abs(lb.fraction_rejected() - 0.05) <= 0.02
    # Formula: Q = n(n+2) sum rho_k^2 / (n-k) by hand for one series.
    x = rng.standard_normal(50)
    c = x - x.mean()
    rho = [np.sum(c[: 50 - k] * c[k:]) / np.sum(c * c) for k in (1, 2, 3)]
    q = 50 * 52 * sum(r**2 / (50 - k) for k, r in zip((1, 2, 3), rho))
    got = ms.ljung_box(x, 3)
    assert got.statistic[0] == pytest.approx(q, rel=1e-10)
    assert got.pvalue[0] == pytest.approx(stats.chi2.sf(q, 3), rel=1e-10)
    # Power (and negative control for "memoryless"): AR(1), phi = 0.3.
    e = rng.standard_normal((1000, 50))
    y = e.copy()
    for t in range(1, 1000):
        y[t] = 0.3 * y[t - 1] + e[t]
    assert ms.ljung_box(y, 10).fraction_rejected() == 1.0


@pytest.mark.slow
def test_acf_tfp_backend_agrees():
    # TFP's auto_correlation, rescaled to the biased estimator, agrees with
    # the FFT one to float32 precision (imports TensorFlow: slow).
    x = np.random.default_rng(107).standard_normal((200, 4))
    np.testing.assert_allclose(
        ms.acf(x, 10, backend="tfp").acf, ms.acf(x, 10).acf, atol=1e-6
    )
