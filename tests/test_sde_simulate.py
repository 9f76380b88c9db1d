"""Euler-Maruyama: stationary laws with known variance, strong error, shapes."""

import dataclasses
import math

import numpy as np
import pytest
import scipy.special
import scipy.stats

tf = pytest.importorskip("tensorflow")

from memsgd import sde  # noqa: E402


@dataclasses.dataclass(frozen=True)
class WrongScaleBrownian(sde.BrownianDriver):
    """Negative control: increments scaled by dt instead of dt^(1/2)."""

    def increment_scale(self, dt):
        return dt


@dataclasses.dataclass(frozen=True)
class WrongScaleFractional(sde.FractionalDriver):
    """Negative control: fGn increments scaled by dt^(1/2) instead of dt^H."""

    def increment_scale(self, dt):
        return dt**0.5


def ou_final_variance(driver, theta=2.0, sigma=1.0, dt=0.01, t_end=5.0, paths=20000):
    result = sde.euler_maruyama(
        lambda x, t: -theta * x,
        driver,
        0.0,
        dt,
        round(t_end / dt),
        paths,
        sigma=sigma,
        seed=4,
    )
    return float(result.final.var())


def test_ou_reaches_stationary_variance():
    # Closed form sigma^2 / (2 theta) = 0.25 for the SDE; Euler-Maruyama's own
    # stationary variance is sigma^2 / (theta (2 - theta dt)) = 0.2525
    # (1% above). With 20000 paths the relative SE of a variance is
    # sqrt(2/20000) = 1%, so 5% is > 4 SE beyond the 1% bias.
    variance = ou_final_variance(sde.BrownianDriver())
    assert variance == pytest.approx(0.25, rel=0.05)
    # Negative control: increments scaled by dt instead of sqrt(dt).
    wrong = ou_final_variance(WrongScaleBrownian())
    assert wrong != pytest.approx(0.25, rel=0.05)


@pytest.mark.parametrize("hurst", (0.3, 0.7))
def test_fractional_ou_reaches_stationary_variance(hurst):
    # Stationary variance of fractional OU dX = -theta X dt + sigma dB^H is
    # sigma^2 H Gamma(2H) theta^(-2H) (Cheridito, Kawaguchi & Maejima 2003,
    # Thm 2.3): 0.4468 (H=0.3), 0.6211 (H=0.7) at theta = sigma = 1.
    # 4000 paths: relative SE of the variance ~2.2%; the Euler bias at
    # dt = 0.01 is ~1%; 8% is ~3 SE beyond it.
    expected = hurst * scipy.special.gamma(2 * hurst)
    kwargs = {"theta": 1.0, "t_end": 10.0, "paths": 4000}
    variance = ou_final_variance(sde.FractionalDriver(hurst), **kwargs)
    assert variance == pytest.approx(expected, rel=0.08)
    wrong = ou_final_variance(WrongScaleFractional(hurst), **kwargs)
    assert wrong != pytest.approx(expected, rel=0.08)


@pytest.mark.parametrize(("alpha", "beta"), [(1.5, 0.0), (1.0, 0.5), (0.8, -0.5)])
def test_levy_increments_aggregate_to_the_right_stable_law(alpha, beta):
    # With zero drift X_T = sigma L_T, and L_T ~ S1(alpha, beta, T^(1/alpha), 0)
    # for every alpha, with no shift at alpha = 1 (characteristic exponent
    # T psi(u)); a KS test against scipy checks the dt^(1/alpha) scaling.
    t_end, steps = 2.0, 200
    result = sde.euler_maruyama(
        lambda x, t: tf.zeros_like(x),
        sde.LevyDriver(alpha, beta),
        0.0,
        t_end / steps,
        steps,
        3000,
        sigma=1.0,
        seed=8,
        dtype=tf.float64,
    )
    reference = scipy.stats.levy_stable(alpha, beta, scale=t_end ** (1 / alpha))
    assert scipy.stats.kstest(result.final[:, 0], reference.cdf).pvalue > 1e-3


def _strong_errors(coupled):
    # Double-well drift (nonlinear), additive Brownian noise, T = 1.
    potential = sde.double_well()
    rng = np.random.default_rng(2024)
    paths, fine = 2000, 2**10
    dw = rng.standard_normal((fine, paths, 1)) * math.sqrt(1.0 / fine)
    reference = sde.euler_maruyama(
        potential,
        "brownian",
        -0.5,
        1.0 / fine,
        fine,
        paths,
        sigma=0.5,
        increments=dw,
        dtype=tf.float64,
    ).final
    errors, steps_list = [], [2**4, 2**5, 2**6, 2**7]
    for steps in steps_list:
        if coupled:
            coarse = dw.reshape(steps, fine // steps, paths, 1).sum(axis=1)
        else:
            coarse = rng.standard_normal((steps, paths, 1)) * math.sqrt(1.0 / steps)
        x = sde.euler_maruyama(
            potential,
            "brownian",
            -0.5,
            1.0 / steps,
            steps,
            paths,
            sigma=0.5,
            increments=coarse,
            dtype=tf.float64,
        ).final
        errors.append(np.mean(np.abs(x - reference)))
    slope = np.polyfit(np.log(1.0 / np.array(steps_list)), np.log(errors), 1)[0]
    return np.array(errors), slope


def test_strong_error_shrinks_at_least_like_sqrt_dt():
    # Euler-Maruyama has strong order 1/2 in general (Kloeden & Platen 1992,
    # Thm 10.2.2); with additive noise it coincides with Milstein and has
    # order 1, so the fitted slope of log E|X_T - X_T^ref| on log dt must be
    # >= 1/2 (it is ~1 here). Reference: the same Brownian path on a 2^-10
    # grid.
    errors, slope = _strong_errors(coupled=True)
    assert np.all(np.diff(errors) < 0)
    assert 0.45 < slope < 1.3, slope
    # Negative control: coarse runs with independent noise do not converge.
    _, wrong_slope = _strong_errors(coupled=False)
    assert not 0.45 < wrong_slope < 1.3, wrong_slope


def test_fbm_chunked_over_paths_keeps_the_covariance():
    # max_block forces many path chunks; each path's increments must still be
    # sigma dt^H fGn over the whole horizon: lag-k covariance
    # sigma^2 dt^{2H} gamma(k) (closed form), within 5 SE.
    hurst, dt, steps, paths = 0.8, 0.1, 64, 3000
    result = sde.euler_maruyama(
        lambda x, t: tf.zeros_like(x),
        sde.FractionalDriver(hurst),
        0.0,
        dt,
        steps,
        paths,
        sigma=1.0,
        seed=3,
        record_every=1,
        max_block=4 * steps * 50,
        dtype=tf.float64,
    )
    x = np.diff(np.concatenate([np.zeros((1, paths)), result.paths[:, :, 0]]), axis=0)
    for k in (0, 1, 5, 30):
        c = np.mean(x[: steps - k] * x[k:], axis=0)
        gamma = 0.5 * (
            abs(k + 1) ** (2 * hurst) - 2 * k ** (2 * hurst) + abs(k - 1) ** (2 * hurst)
        )
        expected = dt ** (2 * hurst) * gamma
        assert abs(c.mean() - expected) < 5 * c.std(ddof=1) / math.sqrt(paths), k


def test_exit_step_and_recording_on_a_deterministic_path():
    # sigma = 0, drift 1, dt = 1/8 (exact in binary): x_k = k/8, so the first
    # k with x_k >= 1 is 8; recording every 4 steps keeps x at t = 0.5, 1, ...
    result = sde.euler_maruyama(
        lambda x, t: tf.ones_like(x),
        "brownian",
        0.0,
        0.125,
        16,
        3,
        sigma=0.0,
        exit_fn=lambda x: x[:, 0] >= 1.0,
        record_every=4,
    )
    np.testing.assert_array_equal(result.exit_step, [8, 8, 8])
    np.testing.assert_allclose(result.times, [0.5, 1.0, 1.5, 2.0])
    np.testing.assert_allclose(result.paths[:, 0, 0], [0.5, 1.0, 1.5, 2.0])
    np.testing.assert_allclose(result.final, 2.0)


def test_potential_drift_by_gradient_tape_matches_closed_form():
    class TapeOnly(sde.Potential):
        # Same energy as the double well, drift left to GradientTape.
        def energy(self, x):
            return sde.double_well().energy(x)

    grid = np.linspace(-1.5, 2.0, 41)
    x = tf.constant(np.stack([grid, grid[::-1]], axis=1))  # second coord idle
    np.testing.assert_allclose(
        TapeOnly().drift(x).numpy(), sde.double_well().drift(x).numpy(), rtol=1e-12
    )
    # Closed form at the sharp minimum's side: -U'(x) = (4h/w^2) x (1 - x^2/w^2).
    expected = 4 * 0.25 / 0.25 * grid * (1 - grid**2 / 0.25)
    left = grid < 0
    np.testing.assert_allclose(
        sde.double_well().drift(x).numpy()[left, 0], expected[left], rtol=1e-12
    )


def test_many_paths_and_dims_shapes():
    result = sde.euler_maruyama(
        sde.quadratic(), sde.LevyDriver(1.7), [0.0, 1.0, 2.0], 0.01, 30, 7, seed=1
    )
    assert result.final.shape == (7, 3)
    assert result.exit_step is None and result.paths is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dt": 0.0}, "`dt` must be a finite number > 0"),
        ({"num_steps": 0}, "`num_steps` must be an integer >= 1"),
        ({"num_paths": 2.5}, "`num_paths` must be an integer >= 1"),
        ({"sigma": -1.0}, "`sigma` must be a finite number >= 0"),
        ({"driver": "pink"}, "`driver` must be one of"),
        ({"x0": np.zeros((3, 1))}, "`x0` must be a scalar"),
    ],
)
def test_bad_input_is_named(kwargs, message):
    args = {"dt": 0.1, "num_steps": 5, "num_paths": 4, "driver": "brownian", "x0": 0.0}
    args.update(kwargs)
    with pytest.raises((ValueError, TypeError), match=message):
        sde.euler_maruyama(sde.quadratic(), args.pop("driver"), args.pop("x0"), **args)


def test_tamed_scheme_keeps_levy_paths_finite_where_euler_explodes():
    # Large alpha-stable jumps into the quartic wall of the double well make
    # plain Euler overshoot (|b| dt >> 1) and blow up to inf/NaN; the tamed
    # step b dt / (1 + dt |b|) (Hutzenthaler, Jentzen & Kloeden 2012) stays
    # finite. The Euler run is the negative control showing the problem.
    potential = sde.double_well()
    kwargs = {"sigma": 0.5, "seed": 1}
    args = (potential, sde.LevyDriver(1.5), potential.start, 0.01, 2000, 2000)
    euler = sde.euler_maruyama(*args, scheme="euler", **kwargs).final
    tamed = sde.euler_maruyama(*args, scheme="tamed", **kwargs).final
    assert not np.isfinite(euler).all()
    assert np.isfinite(tamed).all()


def test_equal_potentials_share_one_compiled_integrator():
    # A sweep builds a fresh DoubleWell per point; equal potentials must reuse
    # the compiled loop rather than trace a new tf.function every time.
    from memsgd.sde import _simulate

    def run(potential):
        sde.first_passage(
            potential, "brownian", sigma=0.5, dt=0.01, num_steps=20, num_paths=4
        )
        return _simulate._integrator(
            potential.drift, potential.exited, 0, 0, False, False
        )

    first = run(sde.DoubleWell(sharp_depth=0.8))
    again = run(sde.DoubleWell(sharp_depth=0.8))
    other = run(sde.DoubleWell(sharp_depth=1.3))
    assert first is again
    assert first is not other
