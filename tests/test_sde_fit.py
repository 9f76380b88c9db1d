"""fit_drivers on series from processes with known drivers and parameters."""

import json
import pathlib
import re

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from memsgd import sde  # noqa: E402

SCHEMA = pathlib.Path(__file__).resolve().parents[1] / "docs" / "summary-schema.md"
T, C = 512, 120


@pytest.fixture(scope="module")
def fgn_data():
    dist = sde.FractionalGaussianNoise(tf.constant(0.25, tf.float64), T, scale=0.3)
    return dist.sample(C, seed=(1, 2)).numpy().T


@pytest.fixture(scope="module")
def fgn_fit(fgn_data):
    return sde.fit_drivers(fgn_data, seed=0)


def test_fgn_data_is_best_explained_by_fbm(fgn_fit):
    # fGn with H = 0.25: the Whittle SE at T = 512 is ~0.03 per coordinate,
    # so the median over 120 coordinates is within 0.03 of 0.25; the scale
    # is 0.3 (sample std of fGn has relative SE < 5% here).
    assert fgn_fit.best == "fbm"
    assert fgn_fit.confidence >= 0.95
    assert fgn_fit.params["fbm"]["hurst"] == pytest.approx(0.25, abs=0.03)
    assert fgn_fit.params["fbm"]["sigma"] == pytest.approx(0.3, rel=0.05)


def test_memory_is_seen_by_the_acf_term_not_the_marginal(fgn_fit):
    # Negative control of the score's parts: Brownian noise with the same
    # variance matches the Gaussian marginal as well as fBM does (within
    # 20%), so without the ACF distance the two could not be told apart.
    marginal, acf = fgn_fit.marginal_distance, fgn_fit.acf_distance
    assert marginal["brownian"] == pytest.approx(marginal["fbm"], rel=0.2)
    assert acf["brownian"] > 1.3 * acf["fbm"]


def test_stable_data_is_best_explained_by_levy():
    # iid S1(1.3, 0, 1, 0): heavy tails, no memory. fit_stable's alpha has
    # SE ~0.07 at T = 512; the median over 120 coordinates is within 0.1.
    x = sde.StableDistribution(tf.constant(1.3, tf.float64)).sample([T, C], seed=3)
    fit = sde.fit_drivers(x.numpy(), seed=0)
    assert fit.best == "levy"
    assert fit.confidence >= 0.95
    assert fit.params["levy"]["alpha"] == pytest.approx(1.3, abs=0.1)


def test_white_gaussian_data_leaves_the_drivers_tied():
    # iid N(0, 1) is Brownian, fBM with H = 1/2 and stable with alpha = 2 at
    # once: the three scores must agree within 10%, whichever ranks first.
    x = np.random.default_rng(4).standard_normal((T, C))
    fit = sde.fit_drivers(x, seed=0)
    scores = np.array(list(fit.score.values()))
    assert scores.max() < 1.1 * scores.min()
    assert fit.params["fbm"]["hurst"] == pytest.approx(0.5, abs=0.03)


def test_dict_has_exactly_the_schema_keys(fgn_fit):
    section = SCHEMA.read_text().split("## 3.")[1].split("## 4.")[0]
    schema_keys = set(re.findall(r'"(\w+)"', section))
    d = json.loads(json.dumps(fgn_fit.to_dict()))
    top = {"drivers", "best", "ranking", "score_definition", "confidence"}
    per_driver = {"params", "marginal_distance", "acf_distance", "score"}
    assert set(d) == top and top <= schema_keys
    assert set(d["drivers"]) == {"brownian", "levy", "fbm"}
    for name, block in d["drivers"].items():
        assert set(block) == per_driver, name
    assert set(d["drivers"]["brownian"]["params"]) == {"sigma"}
    assert {"alpha", "sigma"} <= set(d["drivers"]["levy"]["params"])
    assert set(d["drivers"]["fbm"]["params"]) == {"hurst", "sigma"}
    assert d["ranking"][0] == d["best"] and sorted(d["ranking"]) == sorted(d["drivers"])


def test_ks_two_sample_matches_scipy():
    import scipy.stats

    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((300, 3)), rng.standard_t(3, (300, 3))
    ours = sde._fit.ks_two_sample(a, b)
    for c in range(3):
        assert ours[c] == pytest.approx(
            scipy.stats.ks_2samp(a[:, c], b[:, c]).statistic
        )


def test_bad_input_is_named():
    with pytest.raises(ValueError, match=r"`x` must be a \(T, C\) array"):
        sde.fit_drivers(np.zeros((10, 3)))
