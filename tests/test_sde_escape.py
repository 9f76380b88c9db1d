"""First passage, Kaplan-Meier, escape theory and the escape sweep."""

import json
import math
import pathlib
import re

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from memsgd import sde  # noqa: E402

SCHEMA = pathlib.Path(__file__).resolve().parents[1] / "docs" / "summary-schema.md"


def test_kaplan_meier_matches_the_textbook_6mp_example():
    # Freireich et al. (1963) 6-MP arm, the standard worked example: KM
    # survival 0.857, 0.807, 0.753, 0.690, 0.627, 0.538, 0.448 at
    # t = 6, 7, 10, 13, 16, 22, 23 (Kleinbaum & Klein, "Survival Analysis", ch. 2).
    times = [
        6,
        6,
        6,
        6,
        7,
        9,
        10,
        10,
        11,
        13,
        16,
        17,
        19,
        20,
        22,
        23,
        25,
        32,
        32,
        34,
        35,
    ]
    event = [1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]
    event_times, survival, _, _ = sde.kaplan_meier(times, np.array(event, bool))
    np.testing.assert_array_equal(event_times, [6, 7, 10, 13, 16, 22, 23])
    np.testing.assert_allclose(
        survival, [0.857, 0.807, 0.753, 0.690, 0.627, 0.538, 0.448], atol=6e-4
    )


def test_restricted_mean_without_censoring_is_the_sample_mean():
    rng = np.random.default_rng(1)
    t = rng.exponential(2.0, size=500)
    _, _, mean, variance = sde.kaplan_meier(t, np.ones(500, bool))
    assert mean == pytest.approx(t.mean(), rel=1e-12)
    # KM variance of the mean with no censoring is sum (t_i - mean)^2 / n^2
    # (Klein & Moeschberger 2003, sec. 4.5).
    assert variance == pytest.approx(t.var() / 500, rel=1e-9)


def test_restricted_mean_with_horizon_censoring_is_mean_of_minimum():
    # With all censoring at tau, int_0^tau S = E min(T, tau).
    rng = np.random.default_rng(2)
    t = rng.exponential(2.0, size=1000)
    tau = 3.0
    passage = sde.FirstPassage(
        times=np.minimum(t, tau), censored=t > tau, horizon=tau, dt=0.01
    )
    assert passage.mean == pytest.approx(np.minimum(t, tau).mean(), rel=1e-12)
    assert passage.censored_fraction == pytest.approx(np.mean(t > tau))
    # Exponential MLE under censoring recovers the scale 2 (SE ~ 2/sqrt(780)).
    assert passage.exponential_mean == pytest.approx(2.0, rel=0.1)


def test_brownian_escape_agrees_with_exact_mfpt_and_kramers():
    # Double well (h = 0.25, w = 0.5), sigma = 0.4: barrier dU / D = 3.125.
    # Reference 1: the exact mean first-passage time of the continuous
    # diffusion, by quadrature of Gardiner's eq. 5.2.158, with the barrier
    # moved out by 0.5826 sigma sqrt(dt) for checking the exit only on the
    # grid (Broadie, Glasserman & Kou 1997). Tolerance: 4 SE of the mean
    # plus 4% for what that correction leaves of the O(dt) bias.
    potential, sigma, dt = sde.double_well(), 0.4, 0.01
    passage = sde.first_passage(
        potential,
        "brownian",
        sigma=sigma,
        dt=dt,
        num_steps=12000,
        num_paths=2000,
        seed=5,
    )
    assert passage.censored_fraction < 0.01
    low, high = passage.confidence_interval()
    se = (high - low) / (2 * 1.96)
    exact = sde.mfpt_exact(potential, sigma, exit_shift=0.5826 * sigma * dt**0.5)
    assert abs(passage.mean - exact) < 4 * se + 0.04 * exact
    # Negative control: the same check against sigma 5% lower must fail.
    wrong = sde.mfpt_exact(potential, 0.95 * sigma, 0.5826 * sigma * dt**0.5)
    assert abs(passage.mean - wrong) > 4 * se + 0.04 * wrong
    # Reference 2: Kramers' law, whose relative error is O(D / dU) = 0.32 at
    # this noise level; it must be within that of the exact value and of
    # the simulation.
    kramers = sde.kramers_time(potential, sigma)
    ratio = 0.5 * sigma**2 / potential.depth
    assert abs(kramers / sde.mfpt_exact(potential, sigma) - 1) < ratio
    assert abs(kramers / passage.mean - 1) < ratio


def test_kramers_converges_to_exact_mfpt_as_noise_falls():
    # Kramers is the D -> 0 limit of the exact MFPT, for both potentials.
    for potential in (sde.double_well(), sde.quadratic(curvature=2.0)):
        errors = [
            abs(sde.kramers_time(potential, s) / sde.mfpt_exact(potential, s) - 1)
            for s in (0.5, 0.35, 0.25)
        ]
        assert errors[0] > errors[1] > errors[2]
        assert errors[2] < 0.1


def test_fbm_at_half_escapes_like_brownian_and_slower_for_larger_h():
    # fGn with H = 1/2 is white noise, so escape times must agree with the
    # Brownian ones within sampling error (4 SE of the difference); the
    # escape time grows with H here (the paper's claim, at this curvature).
    kwargs = {"sigma": 0.5, "dt": 0.01, "num_steps": 3000, "num_paths": 1500}
    potential = sde.double_well()
    brownian = sde.first_passage(potential, "brownian", seed=1, **kwargs)
    means = {}
    for h in (0.3, 0.5, 0.7):
        fp = sde.first_passage(potential, sde.FractionalDriver(h), seed=2, **kwargs)
        means[h] = fp
    se = lambda p: (p.confidence_interval()[1] - p.mean) / 1.96  # noqa: E731
    diff = abs(brownian.mean - means[0.5].mean)
    assert diff < 4 * math.hypot(se(brownian), se(means[0.5]))
    assert means[0.3].mean < means[0.5].mean < means[0.7].mean


def test_theory_helpers_agree_with_closed_forms():
    potential = sde.double_well()
    # Effective temperature at H = 1/2 is exactly Kramers.
    assert sde.fractional_effective_time(potential, 0.5, 0.5) == pytest.approx(
        sde.kramers_time(potential, 0.5), rel=1e-12
    )
    # Cauchy (alpha = 1): Levy density 1/(pi y^2), so the rate of jumps
    # > w to the right is 1/(pi w sigma^-1) -> T = pi w / sigma.
    assert sde.levy_escape_time(potential, 0.2, 1.0) == pytest.approx(
        math.pi * potential.sharp_width / 0.2, rel=1e-12
    )
    assert sde.levy_escape_time(potential, 0.2, 2.0) is None
    # Kramers prefactor for this well: pi / sqrt(8h/w^2 * 4h/w^2).
    h, w = potential.sharp_depth, potential.sharp_width
    expected = math.pi / math.sqrt(32 * h**2 / w**4) * math.exp(h / 0.125)
    assert sde.kramers_time(potential, 0.5) == pytest.approx(expected, rel=1e-12)


def _schema_section_4_keys():
    text = SCHEMA.read_text()
    section = text.split("## 4.")[1].split("## 5.")[0]
    return set(re.findall(r'"(\w+)":', section))


def test_escape_sweep_dict_has_exactly_the_schema_keys():
    sweep = sde.escape_sweep(
        "fbm", "hurst", [0.3, 0.6], num_steps=200, num_paths=50, seed=3
    )
    d = json.loads(json.dumps(sweep.to_dict()))
    schema = _schema_section_4_keys()
    theory_keys = {"name", "values", "source"}
    # "values" is both a top-level key and a theory key; name/source are not.
    assert set(d) == schema - {"name", "source"}
    assert set(d["theory"]) == theory_keys
    assert d["values"] == [0.3, 0.6] and d["parameter"] == "hurst"
    assert len(d["mean_escape_time"]) == 2 and len(d["theory"]["values"]) == 2
    for low, mean, high in zip(d["ci_low"], d["mean_escape_time"], d["ci_high"]):
        assert low <= mean <= high


@pytest.mark.parametrize(
    ("parameter", "driver", "values"),
    [
        ("alpha", "levy", [1.2, 2.0]),
        ("sigma", "brownian", [0.4, 0.6]),
        ("curvature", "brownian", [4.0, 16.0]),
    ],
)
def test_escape_sweep_other_parameters(parameter, driver, values):
    sweep = sde.escape_sweep(
        driver, parameter, values, num_steps=300, num_paths=100, seed=1
    ).to_dict()
    assert sweep["values"] == values
    assert all(0 <= c <= 1 for c in sweep["censored_fraction"])


def test_escape_sweep_bad_input_is_named():
    with pytest.raises(ValueError, match="`parameter`='hurst' needs driver='fbm'"):
        sde.escape_sweep("brownian", "hurst", [0.3])
    with pytest.raises(ValueError, match="`parameter` must be one of"):
        sde.escape_sweep("brownian", "depth", [0.3])
    with pytest.raises(ValueError, match="`hurst` must be in"):
        sde.escape_sweep("fbm", "hurst", [1.3], num_steps=10, num_paths=2)


@pytest.mark.slow
def test_levy_escape_depends_on_width_not_depth_and_scales_like_sigma_alpha():
    # Imkeller & Pavlyukevich (2006): T ~ 1/(sigma^alpha nu(outside)), width
    # not depth. Doubling the depth at fixed width must leave the mean within
    # 20% for alpha-stable noise, while it multiplies the Brownian time by a
    # large factor; and log T against log sigma has slope near -alpha.
    alpha = 1.2
    kwargs = {"dt": 0.01, "num_steps": 20000, "num_paths": 1000}
    shallow = sde.double_well(sharp_depth=0.25)
    deep = sde.double_well(sharp_depth=0.5)
    drv = sde.LevyDriver(alpha)
    t_shallow = sde.first_passage(shallow, drv, sigma=0.1, seed=1, **kwargs).mean
    t_deep = sde.first_passage(deep, drv, sigma=0.1, seed=2, **kwargs).mean
    assert t_deep / t_shallow == pytest.approx(1.0, abs=0.2)
    sigmas = np.array([0.05, 0.1, 0.2])
    means = [
        sde.first_passage(shallow, drv, sigma=s, seed=3, **kwargs).mean for s in sigmas
    ]
    slope = np.polyfit(np.log(sigmas), np.log(means), 1)[0]
    assert slope == pytest.approx(-alpha, abs=0.25)
