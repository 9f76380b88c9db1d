"""alpha-stable sampling against scipy.stats.levy_stable (S1 in both)."""

import math

import pytest
import scipy.stats

tf = pytest.importorskip("tensorflow")

from memsgd.sde import StableDistribution  # noqa: E402

# KS level: with fixed seeds the outcome is deterministic; a correct sampler
# fails one case with probability 1e-3.
P_MIN = 1e-3
N = 3000

CASES = [
    # (alpha, beta, scale, loc)
    (1.5, 0.0, 1.0, 0.0),
    (1.0, 0.0, 1.0, 0.0),  # Cauchy
    (1.0, 0.5, 2.0, 0.3),  # alpha = 1 with skew: S1 log-scale shift matters
    (0.7, -0.8, 0.5, 1.0),
    (1.2, 1.0, 1.0, 0.0),  # totally skewed
    (1.9, 0.9, 1.0, 0.0),
    (2.0, 0.3, 1.3, -0.5),  # Gaussian N(loc, 2 scale^2)
]


def sample(alpha, beta, scale, loc, seed=21, n=N):
    dist = StableDistribution(tf.constant(alpha, tf.float64), beta, scale, loc)
    return dist.sample(n, seed=seed).numpy()


@pytest.mark.parametrize(("alpha", "beta", "scale", "loc"), CASES)
def test_ks_against_scipy_levy_stable(alpha, beta, scale, loc):
    x = sample(alpha, beta, scale, loc)
    reference = scipy.stats.levy_stable(alpha, beta, loc=loc, scale=scale)
    assert scipy.stats.kstest(x, reference.cdf).pvalue > P_MIN


def test_alpha_two_is_normal_with_variance_two_scale_squared():
    # S1 at alpha = 2 is N(loc, 2 scale^2) (Nolan 2020, sec. 1.3).
    x = sample(2.0, 0.0, 1.3, -0.5)
    reference = scipy.stats.norm(-0.5, math.sqrt(2) * 1.3)
    assert scipy.stats.kstest(x, reference.cdf).pvalue > P_MIN


def test_negative_control_s0_shift_at_alpha_one_is_rejected():
    # Dropping S1's (2/pi) beta scale log(scale) term at alpha = 1 (i.e.
    # confusing S0 with S1) shifts by 0.44 here; the KS test must see it.
    alpha, beta, scale, loc = 1.0, 0.5, 2.0, 0.3
    x = sample(alpha, beta, scale, loc)
    wrong = x - (2 / math.pi) * beta * scale * math.log(scale)
    reference = scipy.stats.levy_stable(alpha, beta, loc=loc, scale=scale)
    assert scipy.stats.kstest(wrong, reference.cdf).pvalue < P_MIN


def test_negative_control_flipped_skewness_is_rejected():
    # A sign error in beta (a classic CMS bug) must be caught.
    x = sample(1.2, -1.0, 1.0, 0.0)
    reference = scipy.stats.levy_stable(1.2, 1.0)
    assert scipy.stats.kstest(x, reference.cdf).pvalue < P_MIN


def test_log_prob_says_what_to_use_instead():
    dist = StableDistribution(1.5)
    with pytest.raises(NotImplementedError, match=r"scipy\.stats\.levy_stable"):
        dist.log_prob(0.0)


def test_batch_shape_and_dtype():
    dist = StableDistribution([1.2, 1.8], beta=[[0.0], [0.5]])
    assert dist.batch_shape == (2, 2)
    assert dist.sample(5, seed=1).shape == (5, 2, 2)
    assert dist.dtype == tf.float32


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"alpha": 2.5}, "alpha"),
        ({"alpha": 0.0}, "alpha"),
        ({"alpha": 1.0, "beta": 1.5}, "beta"),
        ({"alpha": 1.0, "scale": 0.0}, "scale"),
    ],
)
def test_bad_input_is_named(kwargs, name):
    with pytest.raises(ValueError, match=f"`{name}` must be in .* Received: {name}="):
        StableDistribution(**kwargs)
