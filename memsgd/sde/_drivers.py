"""Noise drivers L_t of dX = b(X, t) dt + sigma dL_t and their increments.

Each driver draws the increments L_{t+dt} - L_t of one Euler-Maruyama step:

- ``BrownianDriver``: dt^(1/2) N(0, 1) (TFP's ``Normal``).
- ``LevyDriver(alpha, beta)``: the Levy process with L_1 ~ S1(alpha, beta, 1, 0)
  has L_dt ~ S1(alpha, beta, dt^(1/alpha), 0) exactly (characteristic
  exponent dt psi(u)). In terms of X ~ S1(alpha, beta, 1, 0) that is
  dt^(1/alpha) X, plus (2/pi) beta dt log(dt) when alpha = 1
  (Samorodnitsky & Taqqu 1994, Property 1.2.3).
- ``FractionalDriver(hurst)``: increments of fractional Brownian motion on a
  grid of step dt are dt^H times unit fractional Gaussian noise
  (self-similarity), and must be drawn jointly over the whole horizon.
"""

from __future__ import annotations

import dataclasses
import math

import tensorflow as tf
import tensorflow_probability as tfp

from memsgd.sde import _validate
from memsgd.sde._fgn import FractionalGaussianNoise
from memsgd.sde._stable import StableDistribution, standard_stable_branch

tfd = tfp.distributions

DRIVER_NAMES = ("brownian", "levy", "fbm")

__all__ = [
    "DRIVER_NAMES",
    "BrownianDriver",
    "FractionalDriver",
    "LevyDriver",
    "make_driver",
]


@dataclasses.dataclass(frozen=True)
class BrownianDriver:
    """Standard Brownian motion; increments dt^(1/2) N(0, 1)."""

    name: str = dataclasses.field(default="brownian", init=False)
    memory: bool = dataclasses.field(default=False, init=False)

    def increment_scale(self, dt: float) -> float:
        """Factor that turns a unit-time increment into one of length dt."""
        return dt**0.5

    def increment_shift(self, dt: float) -> float:
        """Added to the scaled increment (nonzero only for alpha = 1 skewed)."""
        return 0.0

    def unit_increments(self, shape, seed, dtype=tf.float32):
        """Unit-time increments of the given shape (time first)."""
        return tfd.Normal(tf.zeros([], dtype), 1.0).sample(shape, seed=seed)

    def params(self):
        """Driver parameters as a tuple of floats (tensor inputs when compiled)."""
        return ()

    branch = None

    @staticmethod
    def block_sampler(shape, seed, params, dtype, branch=None):
        """A block of N(0, 1) unit increments (TFP's ``Normal``)."""
        del params, branch
        return tfd.Normal(tf.zeros([], dtype), 1.0).sample(shape, seed=seed)

    def to_dict(self) -> dict:
        """JSON-safe parameters."""
        return {"name": self.name}


@dataclasses.dataclass(frozen=True)
class LevyDriver:
    """Symmetric or skewed alpha-stable Levy motion, L_1 ~ S1(alpha, beta, 1, 0).

    Args:
      alpha: stability index in (0, 2]; alpha = 2 is Brownian motion with
        variance 2t (S1 convention).
      beta: skewness in [-1, 1].
    """

    alpha: float = 1.5
    beta: float = 0.0
    name: str = dataclasses.field(default="levy", init=False)
    memory: bool = dataclasses.field(default=False, init=False)

    def __post_init__(self):
        _validate.check_half_open("alpha", self.alpha, 0.0, 2.0)
        _validate.check_closed_interval("beta", self.beta, -1.0, 1.0)

    def increment_scale(self, dt: float) -> float:
        """dt^(1/alpha): L_dt ~ S1(alpha, beta, dt^(1/alpha), 0)."""
        return dt ** (1.0 / self.alpha)

    def increment_shift(self, dt: float) -> float:
        """(2/pi) beta dt log(dt) at alpha = 1, else 0 (S1 scaling rule)."""
        if self.alpha == 1.0:
            return 2.0 / math.pi * self.beta * dt * math.log(dt)
        return 0.0

    def unit_increments(self, shape, seed, dtype=tf.float32):
        """Draws S1(alpha, beta, 1, 0) increments of the given shape."""
        dist = StableDistribution(
            tf.constant(self.alpha, dtype), tf.constant(self.beta, dtype)
        )
        return dist.sample(shape, seed=seed)

    def params(self):
        """Driver parameters as a tuple of floats (tensor inputs when compiled)."""
        return (self.alpha, self.beta)

    @property
    def branch(self) -> str:
        """Which Chambers-Mallows-Stuck branch the sampler needs."""
        if self.alpha == 1.0:
            return "one"
        return "symmetric" if self.beta == 0.0 else "general"

    @staticmethod
    def block_sampler(shape, seed, params, dtype, branch="general"):
        """A block of S1(alpha, beta, 1, 0) increments (Chambers-Mallows-Stuck)."""
        alpha, beta = params
        tiny = 1e-7 if dtype == tf.float32 else 1e-15
        u = tf.random.stateless_uniform(
            [2, *shape], seed, minval=tiny, maxval=1.0 - tiny, dtype=dtype
        )
        return standard_stable_branch(alpha, beta, u[0], -tf.math.log(u[1]), branch)

    def to_dict(self) -> dict:
        """JSON-safe parameters."""
        return {"name": self.name, "alpha": self.alpha, "beta": self.beta}


@dataclasses.dataclass(frozen=True)
class FractionalDriver:
    """Fractional Brownian motion B^H with Hurst index H in (0, 1).

    Args:
      hurst: Hurst index; 1/2 is Brownian motion.
    """

    hurst: float = 0.5
    name: str = dataclasses.field(default="fbm", init=False)
    memory: bool = dataclasses.field(default=True, init=False)

    def __post_init__(self):
        _validate.check_open_interval("hurst", self.hurst, 0.0, 1.0)

    def increment_scale(self, dt: float) -> float:
        """dt^H, by self-similarity of fBM."""
        return dt**self.hurst

    def increment_shift(self, dt: float) -> float:
        """No shift: fGn has mean zero."""
        return 0.0

    def unit_increments(self, shape, seed, dtype=tf.float32):
        """Unit-step fGn, jointly over the leading (time) axis of ``shape``."""
        num_steps = int(shape[0])
        rest = [int(s) for s in shape[1:]]
        count = 1
        for s in rest:
            count *= s
        dist = FractionalGaussianNoise(tf.constant(self.hurst, dtype), num_steps)
        series = dist.sample(count, seed=seed)  # (count, n)
        return tf.reshape(tf.transpose(series), [num_steps, *rest])

    def params(self):
        """Driver parameters as a tuple of floats."""
        return (self.hurst,)

    block_sampler = None  # drawn jointly over the horizon, outside XLA

    def to_dict(self) -> dict:
        """JSON-safe parameters."""
        return {"name": self.name, "hurst": self.hurst}


def make_driver(name: str, **params):
    """Builds a driver from its name: "brownian", "levy" or "fbm".

    Args:
      name: driver name.
      **params: ``alpha``/``beta`` for "levy", ``hurst`` for "fbm".

    Returns:
      A driver dataclass.
    """
    _validate.check_choice("driver", name, DRIVER_NAMES)
    if name == "brownian":
        if params:
            raise ValueError(
                f"The brownian driver takes no parameters. Received: {params}"
            )
        return BrownianDriver()
    if name == "levy":
        return LevyDriver(**params)
    return FractionalDriver(**params)
