"""First passage, censored escape times, and escape sweeps with theory.

Escape time: the first grid time k dt at which a path has left the basin of
the well it started in. Paths still inside at the horizon are right-censored
there. The mean reported everywhere is the Kaplan-Meier restricted mean
survival time (RMST) up to the horizon tau, int_0^tau S(t) dt (Irwin 1949;
Klein & Moeschberger 2003, "Survival Analysis", sec. 4.5). It equals the
plain mean when nothing is censored and is a lower bound of the true mean
otherwise; ``censored_fraction`` says how much that matters.
"""

from __future__ import annotations

import dataclasses
import logging
import math

import numpy as np
from scipy import integrate, special

from memsgd.sde import _validate
from memsgd.sde._drivers import make_driver
from memsgd.sde._potentials import DoubleWell, Potential, Quadratic
from memsgd.sde._simulate import euler_maruyama

logger = logging.getLogger(__name__)

__all__ = [
    "EscapeSweep",
    "FirstPassage",
    "escape_sweep",
    "first_passage",
    "kaplan_meier",
    "kramers_time",
    "levy_escape_time",
    "mfpt_exact",
]

PARAMETERS = ("hurst", "alpha", "sigma", "curvature")
_Z95 = 1.959963984540054


def kaplan_meier(times, observed, tau=None):
    """Kaplan-Meier survival curve and restricted mean with its variance.

    S(t) = prod_{t_j <= t} (1 - d_j / n_j) over distinct event times t_j with
    d_j events among n_j at risk (Kaplan & Meier 1958,
    doi:10.1080/01621459.1958.10501452). The restricted mean to tau =
    max(times) is mu = int_0^tau S(t) dt, with variance
    sum_j A_j^2 d_j / (n_j (n_j - d_j)), A_j = int_{t_j}^tau S(t) dt
    (Klein & Moeschberger 2003, eq. 4.5.1).

    Args:
      times: (n,) event or censoring times >= 0.
      observed: (n,) True where the event was seen, False if censored.
      tau: end of the restricted mean (default: the largest time).

    Returns:
      (event_times, survival, restricted_mean, variance); survival[j] is S
      just after event_times[j].
    """
    times = np.asarray(times, dtype=float)
    observed = np.asarray(observed, dtype=bool)
    tau = float(times.max()) if tau is None else float(tau)
    event_times = np.unique(times[observed])
    at_risk = np.array([(times >= t).sum() for t in event_times], dtype=float)
    deaths = np.array(
        [((times == t) & observed).sum() for t in event_times], dtype=float
    )
    survival = np.cumprod(1.0 - deaths / at_risk)

    # Area under the step curve from each event time to tau.
    knots = np.concatenate([[0.0], event_times, [tau]])
    levels = np.concatenate([[1.0], survival])
    pieces = levels * np.diff(knots)
    mean = float(pieces.sum())
    tail_area = np.cumsum(pieces[::-1])[::-1][1:]  # A_j for each event time
    safe = np.where(at_risk > deaths, at_risk * (at_risk - deaths), np.inf)
    variance = float(np.sum(tail_area**2 * deaths / safe))
    return event_times, survival, mean, variance


@dataclasses.dataclass(frozen=True)
class FirstPassage:
    """Escape times of many paths, censored at the horizon.

    Attributes:
      times: (paths,) exit times; the horizon where censored.
      censored: (paths,) True where the path never exited.
      horizon: num_steps * dt.
      dt: step size.
    """

    times: np.ndarray
    censored: np.ndarray
    horizon: float
    dt: float

    @property
    def censored_fraction(self) -> float:
        """Share of paths still inside at the horizon."""
        return float(self.censored.mean())

    def _km(self):
        return kaplan_meier(self.times, ~self.censored, tau=self.horizon)

    def survival(self, t):
        """Kaplan-Meier estimate of P(T > t) at times ``t`` (array)."""
        event_times, survival, _, _ = self._km()
        index = np.searchsorted(event_times, np.asarray(t, dtype=float), "right")
        return np.concatenate([[1.0], survival])[index]

    @property
    def mean(self) -> float:
        """Restricted mean escape time to the horizon (Kaplan-Meier RMST)."""
        return self._km()[2]

    def confidence_interval(self, level_z: float = _Z95) -> tuple[float, float]:
        """Normal-approximation interval for the restricted mean."""
        _, _, mean, variance = self._km()
        half = level_z * math.sqrt(variance)
        return mean - half, mean + half

    @property
    def exponential_mean(self) -> float | None:
        """Censoring-aware mean assuming exponential escape times.

        Total time at risk over the number of escapes (maximum likelihood for
        exponential times under right censoring, Epstein & Sobel 1953,
        doi:10.1214/aoms/1177728982); None if no path escaped.
        """
        events = int((~self.censored).sum())
        return float(self.times.sum() / events) if events else None

    def to_dict(self) -> dict:
        """JSON-safe summary."""
        low, high = self.confidence_interval()
        return {
            "horizon": self.horizon,
            "dt": self.dt,
            "num_paths": int(self.times.size),
            "mean_escape_time": self.mean,
            "ci_low": low,
            "ci_high": high,
            "exponential_mean": self.exponential_mean,
            "censored_fraction": self.censored_fraction,
        }


def first_passage(
    potential: Potential,
    driver,
    *,
    sigma: float,
    dt: float,
    num_steps: int,
    num_paths: int,
    seed=0,
    x0=None,
    exit_fn=None,
    **kwargs,
) -> FirstPassage:
    """First exit times of dX = -U'(X) dt + sigma dL_t from a basin.

    Args:
      potential: a ``Potential`` (or a drift callable b(x, t), then
        ``x0`` and ``exit_fn`` are required).
      driver: driver object or "brownian".
      sigma: noise amplitude.
      dt: step size.
      num_steps: horizon in steps; paths not out by then are censored.
      num_paths: number of paths.
      seed: seed of the run.
      x0: start (default: the potential's ``start``).
      exit_fn: TF callable x -> bool per path (default: ``potential.exited``).
      **kwargs: passed to ``euler_maruyama``. Unless given, ``scheme`` is
        "tamed" for alpha-stable drivers (a large jump into a quartic wall
        makes plain Euler overshoot across the barrier, a spurious escape)
        and "euler" otherwise.

    Returns:
      A ``FirstPassage``.
    """
    if x0 is None:
        x0 = potential.start
    if exit_fn is None:
        exit_fn = potential.exited
    if "scheme" not in kwargs:
        is_levy = getattr(driver, "name", driver) == "levy"
        kwargs["scheme"] = "tamed" if is_levy else "euler"
    result = euler_maruyama(
        potential,
        driver,
        x0,
        dt,
        num_steps,
        num_paths,
        sigma=sigma,
        seed=seed,
        exit_fn=exit_fn,
        **kwargs,
    )
    exit_step = result.exit_step
    assert exit_step is not None  # exit_fn was given
    censored = np.asarray(exit_step < 0)
    times = np.where(censored, num_steps, exit_step) * dt
    return FirstPassage(
        times=times.astype(float), censored=censored, horizon=num_steps * dt, dt=dt
    )


# ---------------------------------------------------------------- theory


def kramers_time(potential: Potential, sigma: float) -> float:
    """Kramers' mean first-passage time from the well bottom to the barrier.

    For dX = -U'(X) dt + sigma dW with D = sigma^2 / 2 and barrier height
    dU >> D, the mean time to reach the barrier top is half the inverse
    Kramers rate:
        T = pi / sqrt(U''(min) |U''(barrier)|) * exp(dU / D)
    (Kramers 1940, doi:10.1016/S0031-8914(40)90098-2; Haenggi, Talkner &
    Borkovec 1990, doi:10.1103/RevModPhys.62.251, sec. IV.A). Relative error
    O(D / dU). For the quadratic well (no barrier top; the exit is a wall at
    |x| = r) the large-barrier limit of the exact MFPT is used instead:
    T = sqrt(pi D / (2k)) / (k r) * exp(k r^2 / (2D)) (Gardiner, "Handbook of
    Stochastic Methods", sec. 5.2.7, Laplace's method on eq. 5.2.158).
    """
    d = 0.5 * sigma**2
    if isinstance(potential, DoubleWell):
        prefactor = math.pi / math.sqrt(
            potential.curvature * potential.barrier_curvature
        )
        return prefactor * math.exp(potential.depth / d)
    if isinstance(potential, Quadratic):
        k, r = potential.curvature, potential.radius
        return math.sqrt(math.pi * d / (2 * k)) / (k * r) * math.exp(k * r**2 / (2 * d))
    raise NotImplementedError(
        f"Kramers' law is implemented for DoubleWell and Quadratic; got {potential!r}"
    )


def mfpt_exact(potential: Potential, sigma: float, exit_shift: float = 0.0) -> float:
    """Exact mean exit time of the 1-D diffusion, by quadrature.

    For dX = -U'(X) dt + sigma dW, D = sigma^2/2, started at x0 and absorbed
    at b > x0 with a reflecting (or infinitely far) boundary a below,
        T(x0) = (1/D) int_{x0}^{b} exp(U(y)/D) int_{a}^{y} exp(-U(z)/D) dz dy
    (Gardiner, "Handbook of Stochastic Methods", eq. 5.2.158; Pontryagin,
    Andronov & Vitt 1933). For the symmetric quadratic well, a = 0 (by
    symmetry) and b = r. ``exit_shift`` moves b outward; with
    exit_shift = 0.5826 sigma sqrt(dt) it corrects for checking the exit
    only on the time grid (Broadie, Glasserman & Kou 1997,
    doi:10.1111/1467-9965.00039).
    """
    d = 0.5 * sigma**2
    if isinstance(potential, DoubleWell):
        x0, b = potential.start, 0.0 + exit_shift
        a = -potential.sharp_width * 3.0  # exp(-U/D) is negligible beyond
    elif isinstance(potential, Quadratic):
        x0, b, a = 0.0, potential.radius + exit_shift, 0.0
    else:
        raise NotImplementedError(
            f"mfpt_exact supports DoubleWell and Quadratic; got {potential!r}"
        )
    u_min = float(potential.energy_numpy(x0))
    grid = np.linspace(a, b, 20001)
    weight = np.exp(-(potential.energy_numpy(grid) - u_min) / d)
    inner = integrate.cumulative_trapezoid(weight, grid, initial=0.0)
    outer = np.exp((potential.energy_numpy(grid) - u_min) / d) * inner / d
    inside = grid >= x0
    return float(integrate.trapezoid(outer[inside], grid[inside]))


def _stable_jump_constant(alpha: float) -> float:
    """C_alpha of the Levy density C_alpha |y|^(-1-alpha) of S1(alpha, 0, 1, 0).

    C_alpha = Gamma(1 + alpha) sin(pi alpha / 2) / pi (Samorodnitsky & Taqqu
    1994, eq. 1.2.9 with the tail P(|X| > x) ~ (2 C_alpha / alpha) x^-alpha).
    """
    return special.gamma(1.0 + alpha) * math.sin(math.pi * alpha / 2) / math.pi


def levy_escape_time(potential: Potential, sigma: float, alpha: float) -> float | None:
    """Small-noise mean exit time under symmetric alpha-stable noise.

    Exit happens by one jump larger than the distance from the minimum to the
    basin boundary, so T ~ 1 / (sigma^alpha nu(outside)), with
    nu(outside) = C_alpha int_outside |y|^(-1-alpha) dy: it grows like
    sigma^-alpha and depends on the basin's width, not its depth (Imkeller &
    Pavlyukevich 2006, doi:10.1088/0305-4470/39/15/L01, eq. 5). Double well:
    only jumps of more than w_s to the right leave, T = alpha w_s^alpha /
    (C_alpha sigma^alpha). Quadratic: jumps of more than r either way,
    T = alpha r^alpha / (2 C_alpha sigma^alpha). None at alpha = 2 (no jumps).
    """
    if alpha >= 2.0:
        return None
    c = _stable_jump_constant(alpha)
    if isinstance(potential, DoubleWell):
        return alpha * potential.sharp_width**alpha / (c * sigma**alpha)
    if isinstance(potential, Quadratic):
        return alpha * potential.radius**alpha / (2 * c * sigma**alpha)
    raise NotImplementedError(f"no Levy escape law for {potential!r}")


def fractional_effective_time(
    potential: DoubleWell | Quadratic, sigma: float, hurst: float
) -> float:
    """Kramers' law at the effective temperature of fractional OU (heuristic).

    Linearised at the minimum, dX = -k X dt + sigma dB^H is a fractional
    Ornstein-Uhlenbeck process with stationary variance
    sigma^2 H Gamma(2H) k^(-2H) (Cheridito, Kawaguchi & Maejima 2003,
    doi:10.1214/EJP.v8-125, Thm. 2.3). Matching it with the Brownian
    sigma_eff^2 / (2k) gives D_eff = sigma^2 H Gamma(2H) k^(1 - 2H), and this
    returns ``kramers_time`` with D replaced by D_eff. Sliusarenko et al.
    (2010, doi:10.1103/PhysRevE.81.041119) found Arrhenius-like escape under
    fGn with an H-dependent effective diffusion; this formula is one such
    approximation, not a theorem: it ignores the memory of the noise near
    the barrier. Exact at H = 1/2.
    """
    k = potential.curvature
    d_eff = sigma**2 * hurst * special.gamma(2 * hurst) * k ** (1 - 2 * hurst)
    return kramers_time(potential, math.sqrt(2 * d_eff))


# ---------------------------------------------------------------- the sweep


@dataclasses.dataclass(frozen=True)
class EscapeSweep:
    """Mean escape time against one parameter (schema section 4).

    Attributes mirror ``to_dict``; ``theory`` is None where no theory exists.
    """

    potential: str
    sigma: float
    dt: float
    num_paths: int
    horizon: float
    driver: str
    parameter: str
    values: tuple
    mean_escape_time: tuple
    ci_low: tuple
    ci_high: tuple
    censored_fraction: tuple
    theory: dict | None

    def to_dict(self) -> dict:
        """JSON-safe dict with exactly the keys of summary-schema section 4."""
        return {
            "potential": self.potential,
            "sigma": float(self.sigma),
            "dt": float(self.dt),
            "num_paths": int(self.num_paths),
            "horizon": float(self.horizon),
            "driver": self.driver,
            "parameter": self.parameter,
            "values": [float(v) for v in self.values],
            "mean_escape_time": [float(v) for v in self.mean_escape_time],
            "ci_low": [float(v) for v in self.ci_low],
            "ci_high": [float(v) for v in self.ci_high],
            "censored_fraction": [float(v) for v in self.censored_fraction],
            "theory": None if self.theory is None else _theory_dict(self.theory),
        }


def _theory_dict(theory: dict) -> dict:
    values = theory["values"]
    return {
        "name": str(theory["name"]),
        "values": None
        if values is None
        else [None if v is None else float(v) for v in values],
        "source": str(theory["source"]),
    }


_THEORY = {
    "brownian": (
        "kramers",
        "Kramers 1940, doi:10.1016/S0031-8914(40)90098-2; mean first passage "
        "to the barrier top = half the inverse rate (Haenggi, Talkner & "
        "Borkovec 1990, doi:10.1103/RevModPhys.62.251). Relative error "
        "O(sigma^2 / (2 dU)).",
    ),
    "levy": (
        "imkeller_pavlyukevich",
        "Imkeller & Pavlyukevich 2006, doi:10.1088/0305-4470/39/15/L01: "
        "T = 1 / (sigma^alpha nu(jumps leaving the basin)), ~ sigma^-alpha, "
        "set by the basin's width not its depth; small-noise limit, none at "
        "alpha = 2.",
    ),
    "fbm": (
        "kramers_effective_temperature",
        "Heuristic: Kramers' law with D_eff = sigma^2 H Gamma(2H) k^(1-2H) "
        "from the stationary variance of fractional OU (Cheridito, Kawaguchi "
        "& Maejima 2003, doi:10.1214/EJP.v8-125); cf. Sliusarenko et al. "
        "2010, doi:10.1103/PhysRevE.81.041119. Not a theorem; exact at "
        "H = 1/2.",
    ),
}


def _theory_value(driver, potential, sigma):
    try:
        if driver.name == "brownian":
            return kramers_time(potential, sigma)
        if driver.name == "levy":
            if driver.beta != 0.0:
                return None
            return levy_escape_time(potential, sigma, driver.alpha)
        return fractional_effective_time(potential, sigma, driver.hurst)
    except OverflowError:
        return None


def escape_sweep(
    driver: str,
    parameter: str,
    values,
    *,
    potential="double_well",
    sigma: float = 0.5,
    dt: float = 0.01,
    num_steps: int = 2000,
    num_paths: int = 1000,
    seed: int = 0,
    hurst: float = 0.5,
    alpha: float = 1.5,
    beta: float = 0.0,
    potential_kwargs: dict | None = None,
) -> EscapeSweep:
    """Mean escape time from a well against H, alpha, sigma or curvature.

    For each value, simulates ``num_paths`` paths of
    dX = -U'(X) dt + sigma dL_t from the bottom of the well (the sharp one for
    the double well) by Euler-Maruyama and records the first time the path
    leaves the basin, censored at ``num_steps * dt``. The mean is the
    Kaplan-Meier restricted mean (see module docstring) with a 95% normal
    interval. Theory per driver: Kramers (Brownian), Imkeller-Pavlyukevich
    (Levy), Kramers at an effective temperature (fBM, heuristic).

    Args:
      driver: "brownian", "levy" or "fbm".
      parameter: "hurst" (fbm), "alpha" (levy), "sigma" or "curvature".
      values: the swept values.
      potential: "double_well", "quadratic" or a Potential object.
      sigma: noise amplitude (unless swept; the dict's "sigma" is this
        value even when ``parameter`` is "sigma").
      dt: step size.
      num_steps: horizon in steps.
      num_paths: paths per value.
      seed: base seed; value i uses (seed, i).
      hurst: H of the fbm driver (unless swept).
      alpha: alpha of the levy driver (unless swept).
      beta: skewness of the levy driver.
      potential_kwargs: keyword arguments of ``double_well``/``quadratic``.

    Returns:
      An ``EscapeSweep``.
    """
    from memsgd.sde._drivers import DRIVER_NAMES
    from memsgd.sde._potentials import double_well, quadratic

    _validate.check_choice("driver", driver, DRIVER_NAMES)
    _validate.check_choice("parameter", parameter, PARAMETERS)
    if parameter == "hurst" and driver != "fbm":
        raise ValueError(
            f"`parameter`='hurst' needs driver='fbm'. Received: driver={driver!r}"
        )
    if parameter == "alpha" and driver != "levy":
        raise ValueError(
            f"`parameter`='alpha' needs driver='levy'. Received: driver={driver!r}"
        )
    values = [float(v) for v in np.atleast_1d(np.asarray(values, dtype=float))]
    if not values:
        raise ValueError("`values` must hold at least one value. Received: []")
    if isinstance(potential, str):
        _validate.check_choice("potential", potential, ("double_well", "quadratic"))
        factory = double_well if potential == "double_well" else quadratic
        base = factory(**(potential_kwargs or {}))
    elif isinstance(potential, (DoubleWell, Quadratic)):
        base = potential
    else:
        raise TypeError(
            "`potential` must be 'double_well', 'quadratic' or a DoubleWell / "
            f"Quadratic. Received: {potential!r}"
        )
    sigma = _validate.check_positive("sigma", sigma)

    means, lows, highs, censored, theory = [], [], [], [], []
    for i, value in enumerate(values):
        params = {}
        if driver == "fbm":
            params["hurst"] = value if parameter == "hurst" else hurst
        elif driver == "levy":
            params["alpha"] = value if parameter == "alpha" else alpha
            params["beta"] = beta
        drv = make_driver(driver, **params)
        pot = base.with_curvature(value) if parameter == "curvature" else base
        sig = (
            _validate.check_positive("sigma", value) if parameter == "sigma" else sigma
        )
        passage = first_passage(
            pot,
            drv,
            sigma=sig,
            dt=dt,
            num_steps=num_steps,
            num_paths=num_paths,
            seed=(seed, i),
        )
        low, high = passage.confidence_interval()
        means.append(passage.mean)
        lows.append(low)
        highs.append(high)
        censored.append(passage.censored_fraction)
        theory.append(_theory_value(drv, pot, sig))
        logger.info(
            "escape_sweep %s %s=%g: mean %.4g, censored %.3f",
            driver,
            parameter,
            value,
            passage.mean,
            passage.censored_fraction,
        )

    name, source = _THEORY[driver]
    return EscapeSweep(
        potential=base.name,
        sigma=sigma,
        dt=float(dt),
        num_paths=int(num_paths),
        horizon=float(num_steps * dt),
        driver=driver,
        parameter=parameter,
        values=tuple(values),
        mean_escape_time=tuple(means),
        ci_low=tuple(lows),
        ci_high=tuple(highs),
        censored_fraction=tuple(censored),
        theory={"name": name, "values": theory, "source": source},
    )
