"""Potentials U for the gradient flow dX = -U'(X) dt + sigma dL_t.

Both potentials are 1-D and come with what the escape experiments need: a
starting point (the bottom of the well of interest), the exit rule (leaving
its basin), and the quantities that enter the theory (depth, curvatures,
distance to the basin boundary).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import tensorflow as tf

from memsgd.sde import _validate

__all__ = ["DoubleWell", "Quadratic", "double_well", "quadratic"]


class Potential:
    """Base class: a scalar potential U(x) on x of shape (paths, dims).

    Subclasses define ``energy`` (TF); the drift -grad U is taken by
    ``tf.GradientTape`` unless a subclass gives it in closed form.
    """

    name = "potential"

    def energy(self, x):
        """U(x) per path, shape (paths,)."""
        raise NotImplementedError(
            f"{type(self).__name__} must define energy(x) -> U per path"
        )

    def __call__(self, x):
        return self.energy(x)

    @property
    def start(self) -> float:
        """Where escape runs start (a minimum)."""
        raise NotImplementedError(
            f"{type(self).__name__} has no start point; pass x0= explicitly"
        )

    def exited(self, x):
        """True where a path has left the basin of ``start``."""
        raise NotImplementedError(
            f"{type(self).__name__} has no exit rule; pass exit_fn= explicitly"
        )

    def drift(self, x, t=None):
        """-grad U(x) by GradientTape (shape of x)."""
        del t
        with tf.GradientTape() as tape:
            tape.watch(x)
            u = tf.reduce_sum(self.energy(x))
        return -tape.gradient(u, x)


@dataclasses.dataclass(frozen=True)
class DoubleWell(Potential):
    """Asymmetric 1-D double well: a sharp minimum left, a flat one right.

    U(x) = h_s [(1 - (x/w_s)^2)^2 - 1] for x < 0,
    U(x) = h_f [(1 - (x/w_f)^2)^2 - 1] for x >= 0,

    so the barrier top is U(0) = 0, the minima are U(-w_s) = -h_s and
    U(w_f) = -h_f, and U is C^1. Curvatures: U''(-w_s) = 8 h_s / w_s^2 at the
    sharp minimum and U''(0-) = -4 h_s / w_s^2 on its side of the barrier
    (narrow width w_s = sharp). Escape from the sharp well means reaching
    x >= 0, the boundary of its basin of attraction.

    Args:
      sharp_width: w_s > 0, distance of the sharp minimum from the barrier.
      flat_width: w_f > 0, same for the flat minimum.
      sharp_depth: h_s > 0.
      flat_depth: h_f > 0.
    """

    sharp_width: float = 0.5
    flat_width: float = 1.5
    sharp_depth: float = 0.25
    flat_depth: float = 0.25
    name: str = dataclasses.field(default="double_well", init=False)

    def __post_init__(self):
        for field in ("sharp_width", "flat_width", "sharp_depth", "flat_depth"):
            _validate.check_positive(field, getattr(self, field))

    def energy(self, x):
        x0 = x[..., 0]
        left = x0 < 0
        width = tf.where(left, self.sharp_width, self.flat_width)
        depth = tf.where(left, self.sharp_depth, self.flat_depth)
        width = tf.cast(width, x.dtype)
        depth = tf.cast(depth, x.dtype)
        return depth * (tf.square(1.0 - tf.square(x0 / width)) - 1.0)

    def drift(self, x, t=None):
        """-U'(x) = (4 h / w^2) x (1 - x^2 / w^2), closed form, side-wise.

        U depends on the first coordinate only; other coordinates get 0.
        """
        del t
        first = x[..., :1]
        left = first < 0
        width = tf.cast(tf.where(left, self.sharp_width, self.flat_width), x.dtype)
        depth = tf.cast(tf.where(left, self.sharp_depth, self.flat_depth), x.dtype)
        drift = (
            4.0 * depth / tf.square(width) * first * (1.0 - tf.square(first / width))
        )
        if x.shape[-1] == 1:
            return drift
        return tf.concat([drift, tf.zeros_like(x[..., 1:])], axis=-1)

    @property
    def start(self) -> float:
        """Bottom of the sharp well."""
        return -self.sharp_width

    def exited(self, x):
        """True where a path has left the sharp well's basin (x >= 0)."""
        return x[..., 0] >= 0

    @property
    def depth(self) -> float:
        """Barrier height seen from the sharp minimum."""
        return self.sharp_depth

    @property
    def curvature(self) -> float:
        """U'' at the sharp minimum: 8 h_s / w_s^2."""
        return 8.0 * self.sharp_depth / self.sharp_width**2

    @property
    def barrier_curvature(self) -> float:
        """|U''| at the barrier on the sharp side: 4 h_s / w_s^2."""
        return 4.0 * self.sharp_depth / self.sharp_width**2

    def with_curvature(self, curvature: float) -> DoubleWell:
        """Same depth, sharp width changed so that U''(-w_s) = curvature."""
        curvature = _validate.check_positive("curvature", curvature)
        width = math.sqrt(8.0 * self.sharp_depth / curvature)
        return dataclasses.replace(self, sharp_width=width)

    def energy_numpy(self, x):
        """U(x) for a numpy array of positions (for quadrature)."""
        x = np.asarray(x, dtype=float)
        width = np.where(x < 0, self.sharp_width, self.flat_width)
        depth = np.where(x < 0, self.sharp_depth, self.flat_depth)
        return depth * ((1.0 - (x / width) ** 2) ** 2 - 1.0)

    def exit_interval(self) -> tuple[float, float]:
        """Basin of the start point: (-inf, 0)."""
        return (-math.inf, 0.0)

    def to_dict(self) -> dict:
        """JSON-safe parameters."""
        return {
            "name": self.name,
            "sharp_width": self.sharp_width,
            "flat_width": self.flat_width,
            "sharp_depth": self.sharp_depth,
            "flat_depth": self.flat_depth,
        }


@dataclasses.dataclass(frozen=True)
class Quadratic(Potential):
    """Quadratic well U(x) = (k/2) |x|^2; escape = leaving |x_0| < radius.

    Args:
      curvature: k > 0.
      radius: half-width of the exit interval on the first coordinate.
    """

    curvature: float = 1.0
    radius: float = 1.0
    name: str = dataclasses.field(default="quadratic", init=False)

    def __post_init__(self):
        _validate.check_positive("curvature", self.curvature)
        _validate.check_positive("radius", self.radius)

    def energy(self, x):
        return 0.5 * self.curvature * tf.reduce_sum(tf.square(x), axis=-1)

    def drift(self, x, t=None):
        """-k x, closed form."""
        del t
        return -self.curvature * x

    @property
    def start(self) -> float:
        """Bottom of the well."""
        return 0.0

    def exited(self, x):
        """True where |x_0| >= radius."""
        return tf.abs(x[..., 0]) >= self.radius

    @property
    def depth(self) -> float:
        """U at the exit boundary: k r^2 / 2."""
        return 0.5 * self.curvature * self.radius**2

    def with_curvature(self, curvature: float) -> Quadratic:
        """Same radius, new curvature."""
        curvature = _validate.check_positive("curvature", curvature)
        return dataclasses.replace(self, curvature=curvature)

    def energy_numpy(self, x):
        """U(x) for a numpy array of positions (for quadrature)."""
        return 0.5 * self.curvature * np.asarray(x, dtype=float) ** 2

    def exit_interval(self) -> tuple[float, float]:
        """Interval the path must stay in: (-radius, radius)."""
        return (-self.radius, self.radius)

    def to_dict(self) -> dict:
        """JSON-safe parameters."""
        return {"name": self.name, "curvature": self.curvature, "radius": self.radius}


def double_well(**kwargs) -> DoubleWell:
    """The default asymmetric double well (see ``DoubleWell``)."""
    return DoubleWell(**kwargs)


def quadratic(**kwargs) -> Quadratic:
    """A quadratic well (see ``Quadratic``)."""
    return Quadratic(**kwargs)
