"""Levy alpha-stable laws as a TensorFlow Probability distribution.

Parameterisation S1 (Nolan 2020, "Univariate Stable Distributions", Def. 1.7;
Samorodnitsky & Taqqu 1994 S_alpha(sigma, beta, mu)), the default of
``scipy.stats.levy_stable``: the characteristic function of
X ~ S1(alpha, beta, scale, loc) is

    E exp(iuX) = exp(-scale^a |u|^a (1 - i beta sign(u) tan(pi a / 2)) + i loc u)

for alpha != 1, and

    exp(-scale |u| (1 + i beta (2/pi) sign(u) log|u|) + i loc u)

for alpha = 1. At alpha = 2 the law is N(loc, 2 scale^2) whatever beta.
"""

from __future__ import annotations

import math

import tensorflow as tf
import tensorflow_probability as tfp
from tensorflow_probability.python.distributions import (
    distribution as distribution_lib,
)
from tensorflow_probability.python.internal import (
    dtype_util,
    parameter_properties,
    reparameterization,
    samplers,
    tensor_util,
)

from memsgd.sde import _validate

tfd = tfp.distributions
tfb = tfp.bijectors

__all__ = ["StableDistribution", "standard_stable"]


def standard_stable(alpha, beta, uniform, exponential):
    """Chambers-Mallows-Stuck transform to S1(alpha, beta, 1, 0).

    With V = pi (U - 1/2) uniform on (-pi/2, pi/2) and W ~ Exp(1)
    (Chambers, Mallows & Stuck 1976, doi:10.1080/01621459.1976.10480344;
    Weron 1996, doi:10.1016/0167-7152(95)00113-1, eqs. 3-4):

    alpha != 1: with zeta = -beta tan(pi alpha / 2) and
      xi = arctan(-zeta) / alpha,
      X = (1 + zeta^2)^(1/(2 alpha)) sin(alpha (V + xi)) / cos(V)^(1/alpha)
          * [cos(V - alpha (V + xi)) / W]^((1 - alpha) / alpha);
    alpha = 1:
      X = (2/pi) [(pi/2 + beta V) tan V
                  - beta log((pi/2) W cos V / (pi/2 + beta V))].

    Args:
      alpha: stability index in (0, 2]; broadcasts with the others.
      beta: skewness in [-1, 1].
      uniform: U in (0, 1).
      exponential: W > 0.

    Returns:
      Samples of S1(alpha, beta, 1, 0), same dtype as ``uniform``.
    """
    dtype = uniform.dtype
    half_pi = tf.constant(math.pi / 2, dtype)
    v = math.pi * (uniform - 0.5)
    is_one = tf.equal(alpha, 1.0)

    # alpha != 1; alpha = 1 is replaced by a harmless value and masked below.
    a = tf.where(is_one, tf.constant(0.5, dtype), alpha)
    zeta = -beta * tf.tan(half_pi * a)
    xi = tf.atan(-zeta) / a
    factor = tf.pow(1.0 + tf.square(zeta), 0.5 / a)
    avx = a * (v + xi)
    x_general = (
        factor
        * tf.sin(avx)
        / tf.pow(tf.cos(v), 1.0 / a)
        * tf.pow(tf.cos(v - avx) / exponential, (1.0 - a) / a)
    )

    # alpha = 1.
    shifted = half_pi + beta * v
    x_one = (1.0 / half_pi) * (
        shifted * tf.tan(v)
        - beta * tf.math.log(half_pi * exponential * tf.cos(v) / shifted)
    )
    return tf.where(is_one, x_one, x_general)


def standard_stable_branch(alpha, beta, uniform, exponential, branch):
    """``standard_stable`` for a branch known in advance (no wasted work).

    Args:
      alpha: stability index (tensor).
      beta: skewness (tensor).
      uniform: U in (0, 1).
      exponential: W > 0.
      branch: "one" (alpha = 1), "symmetric" (beta = 0, alpha != 1), or
        "general" (alpha != 1). For "symmetric" the CMS formula reduces to
        X = sin(alpha V) exp(-(1/alpha) log cos V
                             + ((1 - alpha)/alpha)(log cos((1 - alpha) V) - log W)).

    Returns:
      Samples of S1(alpha, beta, 1, 0).
    """
    if branch == "symmetric":
        v = math.pi * (uniform - 0.5)
        log_part = (-1.0 / alpha) * tf.math.log(tf.cos(v)) + ((1.0 - alpha) / alpha) * (
            tf.math.log(tf.cos((1.0 - alpha) * v)) - tf.math.log(exponential)
        )
        return tf.sin(alpha * v) * tf.exp(log_part)
    if branch in ("one", "general"):
        return standard_stable(alpha, beta, uniform, exponential)
    raise ValueError(
        "`branch` must be one of ['general', 'one', 'symmetric']. "
        f"Received: branch={branch!r}"
    )


def _open_uniform(shape, seed, dtype):
    """Uniform on the open interval (0, 1), avoiding both endpoints."""
    tiny = dtype_util.eps(dtype)
    return samplers.uniform(
        shape, minval=tiny, maxval=1.0 - tiny, seed=seed, dtype=dtype
    )


class StableDistribution(distribution_lib.Distribution):
    """Levy alpha-stable distribution S1(alpha, beta, scale, loc).

    S1 is scipy's default parameterisation (``scipy.stats.levy_stable``);
    see the module docstring for its characteristic function. Sampling uses
    the Chambers-Mallows-Stuck method, exact for every alpha in (0, 2]
    including alpha = 1 (where S1 adds (2/pi) beta scale log(scale) to the
    location when scaling) and alpha = 2 (the normal N(loc, 2 scale^2)).

    There is no closed-form density: ``log_prob`` raises NotImplementedError.

    Args:
      alpha: stability index in (0, 2].
      beta: skewness in [-1, 1].
      scale: scale > 0.
      loc: location.
      validate_args: check symbolic parameters at run time too.
      allow_nan_stats: TFP convention.
      name: name scope.
    """

    def __init__(
        self,
        alpha,
        beta=0.0,
        scale=1.0,
        loc=0.0,
        validate_args=False,
        allow_nan_stats=True,
        name="StableDistribution",
    ):
        parameters = dict(locals())
        _validate.check_values("alpha", alpha, 0.0, 2.0, closed="high")
        _validate.check_values("beta", beta, -1.0, 1.0, closed="both")
        _validate.check_values("scale", scale, 0.0, math.inf)
        with tf.name_scope(name) as name:
            dtype = dtype_util.common_dtype(
                [alpha, beta, scale, loc], dtype_hint=tf.float32
            )
            self._alpha = tensor_util.convert_nonref_to_tensor(
                alpha, dtype=dtype, name="alpha"
            )
            self._beta = tensor_util.convert_nonref_to_tensor(
                beta, dtype=dtype, name="beta"
            )
            self._scale = tensor_util.convert_nonref_to_tensor(
                scale, dtype=dtype, name="scale"
            )
            self._loc = tensor_util.convert_nonref_to_tensor(
                loc, dtype=dtype, name="loc"
            )
            super().__init__(
                dtype=dtype,
                reparameterization_type=reparameterization.NOT_REPARAMETERIZED,
                validate_args=validate_args,
                allow_nan_stats=allow_nan_stats,
                parameters=parameters,
                name=name,
            )

    @classmethod
    def _parameter_properties(cls, dtype, num_classes=None):
        return dict(
            alpha=parameter_properties.ParameterProperties(
                default_constraining_bijector_fn=(
                    lambda: tfb.Sigmoid(low=dtype_util.eps(dtype), high=2.0)
                )
            ),
            beta=parameter_properties.ParameterProperties(
                default_constraining_bijector_fn=(lambda: tfb.Tanh())
            ),
            scale=parameter_properties.ParameterProperties(
                default_constraining_bijector_fn=(
                    lambda: tfb.Softplus(low=dtype_util.eps(dtype))
                )
            ),
            loc=parameter_properties.ParameterProperties(),
        )

    @property
    def alpha(self):
        """Stability index."""
        return self._alpha

    @property
    def beta(self):
        """Skewness."""
        return self._beta

    @property
    def scale(self):
        """Scale."""
        return self._scale

    @property
    def loc(self):
        """Location (S1)."""
        return self._loc

    def _event_shape(self):
        return tf.TensorShape([])

    def _event_shape_tensor(self):
        return tf.constant([], dtype=tf.int32)

    def _sample_n(self, n, seed=None):
        seed = samplers.sanitize_seed(seed, salt="StableDistribution")
        uniform_seed, exp_seed = samplers.split_seed(seed)
        alpha = tf.convert_to_tensor(self._alpha)
        beta = tf.convert_to_tensor(self._beta)
        scale = tf.convert_to_tensor(self._scale)
        loc = tf.convert_to_tensor(self._loc)
        batch_shape = self._batch_shape_tensor(
            alpha=alpha, beta=beta, scale=scale, loc=loc
        )
        shape = tf.concat([[n], batch_shape], axis=0)
        uniform = _open_uniform(shape, uniform_seed, self.dtype)
        exponential = -tf.math.log(_open_uniform(shape, exp_seed, self.dtype))
        x = standard_stable(alpha, beta, uniform, exponential)
        # S1 scaling: scale * X + loc, plus (2/pi) beta scale log(scale) at
        # alpha = 1 (Nolan 2020, Prop. 1.16).
        shift = tf.where(
            tf.equal(alpha, 1.0),
            (2.0 / math.pi) * beta * scale * tf.math.log(scale),
            tf.zeros_like(scale),
        )
        return scale * x + shift + loc

    def _log_prob(self, x):
        raise NotImplementedError(
            "StableDistribution.log_prob is not implemented: alpha-stable "
            "densities have no closed form. Use scipy.stats.levy_stable.logpdf "
            "(same S1 parameterisation) for densities, or "
            "memsgd.stats.fit_stable to estimate the parameters from samples."
        )

    def _parameter_control_dependencies(self, is_init):
        if not self.validate_args:
            return []
        assertions = []
        if is_init != tensor_util.is_ref(self._alpha):
            alpha = tf.convert_to_tensor(self._alpha)
            assertions += [
                tf.debugging.assert_positive(alpha, "`alpha` must be in (0, 2]."),
                tf.debugging.assert_less_equal(
                    alpha, tf.constant(2.0, alpha.dtype), "`alpha` must be in (0, 2]."
                ),
            ]
        if is_init != tensor_util.is_ref(self._beta):
            beta = tf.convert_to_tensor(self._beta)
            assertions.append(
                tf.debugging.assert_less_equal(
                    tf.abs(beta), tf.ones([], beta.dtype), "`beta` must be in [-1, 1]."
                )
            )
        if is_init != tensor_util.is_ref(self._scale):
            assertions.append(
                tf.debugging.assert_positive(self._scale, "`scale` must be > 0.")
            )
        return assertions
