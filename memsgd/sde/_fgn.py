"""Fractional Gaussian noise as a TensorFlow Probability distribution.

Sampling is exact by circulant embedding (Davies & Harte 1987; Dietrich &
Newsam 1997, doi:10.1137/S1064827592240555), with a Cholesky fallback only
where the embedding's eigenvalues are numerically negative. ``log_prob`` is the
exact Gaussian likelihood with Toeplitz covariance, evaluated by the
Durbin-Levinson recursion in O(n^2).
"""

from __future__ import annotations

import logging
import math

import numpy as np
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

logger = logging.getLogger(__name__)

tfd = tfp.distributions
tfb = tfp.bijectors

# The embedding is accepted when its smallest eigenvalue is above
# -_EIGEN_RTOL * largest; below that the exact Cholesky sampler is used.
_EIGEN_RTOL = 1e-10

__all__ = ["FractionalGaussianNoise", "fgn_autocovariance"]


def fgn_autocovariance(hurst: float, num_lags: int, scale: float = 1.0):
    """Autocovariance of unit-step fractional Gaussian noise, in numpy.

    gamma(k) = (scale^2 / 2) (|k+1|^{2H} - 2|k|^{2H} + |k-1|^{2H}),
    k = 0, ..., num_lags - 1 (Mandelbrot & Van Ness 1968,
    doi:10.1137/1010093).

    Args:
      hurst: Hurst index H in (0, 1).
      num_lags: number of lags returned (k = 0 .. num_lags - 1).
      scale: standard deviation of one increment.

    Returns:
      float64 array of shape (num_lags,).
    """
    hurst = _validate.check_open_interval("hurst", hurst, 0.0, 1.0)
    num_lags = _validate.check_positive_int("num_lags", num_lags)
    scale = _validate.check_positive("scale", scale)
    k = np.arange(num_lags, dtype=np.float64)
    two_h = 2.0 * hurst
    gamma = 0.5 * (
        np.abs(k + 1) ** two_h - 2 * np.abs(k) ** two_h + np.abs(k - 1) ** two_h
    )
    return scale**2 * gamma


def _abs_pow(k, two_h):
    """|k|^{2H} with a zero (and a zero gradient) at k = 0."""
    k = tf.abs(k)
    positive = k > 0
    safe = tf.where(positive, k, tf.ones_like(k))
    return tf.where(positive, tf.exp(two_h * tf.math.log(safe)), tf.zeros_like(k))


def _autocovariance(hurst, lags):
    """Unit-scale fGn autocovariance; ``hurst`` (...,1) broadcasts with lags."""
    two_h = 2.0 * hurst
    return 0.5 * (
        _abs_pow(lags + 1.0, two_h)
        - 2.0 * _abs_pow(lags, two_h)
        + _abs_pow(lags - 1.0, two_h)
    )


def _circulant_eigenvalues(hurst, num_steps):
    """Eigenvalues of the circulant embedding of an fGn covariance.

    The first row of the 2n x 2n circulant is
    c = (gamma(0), ..., gamma(n-1), gamma(n), gamma(n-1), ..., gamma(1)),
    whose eigenvalues are the real DFT of c (Dietrich & Newsam 1997, sec. 2).
    They are non-negative for every H in (0, 1) (Craigmile 2003,
    doi:10.1111/1467-9892.00318); the ``fbm`` package's row, with 0 in place
    of gamma(n), is not a valid embedding for H near 1.

    Args:
      hurst: float64 tensor of shape (B,).
      num_steps: n, a Python int.

    Returns:
      float64 tensor of shape (B, 2n).
    """
    n = num_steps
    lags = tf.constant(
        np.concatenate([np.arange(0, n + 1), np.arange(n - 1, 0, -1)]),
        dtype=tf.float64,
    )
    row = _autocovariance(hurst[:, tf.newaxis], lags[tf.newaxis, :])
    return tf.math.real(tf.signal.fft(tf.cast(row, tf.complex128)))


def _toeplitz_cholesky(hurst, num_steps):
    """Cholesky factor (B, n, n) of the unit-scale fGn covariance, float64."""
    k = tf.range(num_steps, dtype=tf.float64)
    lags = tf.abs(k[:, tf.newaxis] - k[tf.newaxis, :])
    cov = _autocovariance(hurst[:, tf.newaxis, tf.newaxis], lags[tf.newaxis])
    return tf.linalg.cholesky(cov)


def _sample_circulant(eigenvalues, num_samples, num_steps, dtype, seed):
    """Draws (num_samples, B, n) exact fGn samples from the embedding.

    With W = Z1 + i Z2 (iid standard normal parts) and Y = FFT(sqrt(lambda/m) W),
    Re(Y[:n]) and Im(Y[:n]) are independent N(0, Gamma) vectors (Dietrich &
    Newsam 1997, Theorem 2.1), so one FFT yields two samples.
    """
    m = 2 * num_steps
    pairs = (num_samples + 1) // 2
    complex_dtype = tf.complex64 if dtype == tf.float32 else tf.complex128
    batch = tf.shape(eigenvalues)[0]
    root = tf.sqrt(tf.maximum(eigenvalues, 0.0) / m)
    z = samplers.normal([2, pairs, batch, m], seed=seed, dtype=dtype)
    w = tf.complex(z[0], z[1]) * tf.cast(root, complex_dtype)
    y = tf.signal.fft(w)[..., :num_steps]
    both = tf.concat([tf.math.real(y), tf.math.imag(y)], axis=0)
    return both[:num_samples]


def _sample_cholesky(hurst, num_samples, num_steps, dtype, seed):
    """Exact O(n^3) fallback: L z with L the Toeplitz Cholesky factor."""
    chol = _toeplitz_cholesky(hurst, num_steps)
    batch = tf.shape(hurst)[0]
    z = samplers.normal([batch, num_steps, num_samples], seed=seed, dtype=tf.float64)
    x = tf.linalg.matmul(chol, z)
    return tf.cast(tf.transpose(x, [2, 0, 1]), dtype)


class FractionalGaussianNoise(distribution_lib.Distribution):
    """Fractional Gaussian noise: ``num_steps`` unit-step increments of fBM.

    The event is a series x_0, ..., x_{n-1} ~ N(0, Gamma) with Toeplitz
    covariance Gamma_{ij} = scale^2 gamma(|i - j|),
    gamma(k) = (|k+1|^{2H} - 2|k|^{2H} + |k-1|^{2H}) / 2
    (Mandelbrot & Van Ness 1968, doi:10.1137/1010093). Cumulative sums are
    fractional Brownian motion on the integer grid; increments over a step
    dt are dt^H times these by self-similarity.

    Sampling: circulant embedding (Davies & Harte 1987, Biometrika 74:95;
    Dietrich & Newsam 1997, doi:10.1137/S1064827592240555) in O(n log n) per
    pair of samples, for any n and any H in (0, 1). If the embedding's
    smallest eigenvalue is below -1e-10 times the largest (mathematically it
    never is for fGn; see Craigmile 2003, doi:10.1111/1467-9892.00318), the
    whole batch falls back to an exact Cholesky sampler.

    ``log_prob``: exact Gaussian log-likelihood by the Durbin-Levinson
    recursion (Brockwell & Davis 1991, "Time Series: Theory and Methods",
    Prop. 5.2.1):
    log p(x) = -1/2 sum_k [log(2 pi v_k) + (x_k - xhat_k)^2 / v_k].

    Args:
      hurst: Hurst index H in (0, 1); a float or a tensor (batch shape).
      num_steps: length n of the series (a Python int >= 1).
      scale: standard deviation of one increment (> 0); broadcasts with hurst.
      validate_args: check symbolic parameters at run time too.
      allow_nan_stats: TFP convention.
      name: name scope.
    """

    def __init__(
        self,
        hurst,
        num_steps,
        scale=1.0,
        validate_args=False,
        allow_nan_stats=True,
        name="FractionalGaussianNoise",
    ):
        parameters = dict(locals())
        _validate.check_values("hurst", hurst, 0.0, 1.0)
        _validate.check_values("scale", scale, 0.0, math.inf)
        self._num_steps = _validate.check_positive_int("num_steps", num_steps)
        with tf.name_scope(name) as name:
            dtype = dtype_util.common_dtype([hurst, scale], dtype_hint=tf.float32)
            self._hurst = tensor_util.convert_nonref_to_tensor(
                hurst, dtype=dtype, name="hurst"
            )
            self._scale = tensor_util.convert_nonref_to_tensor(
                scale, dtype=dtype, name="scale"
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
            hurst=parameter_properties.ParameterProperties(
                default_constraining_bijector_fn=tfb.Sigmoid
            ),
            scale=parameter_properties.ParameterProperties(
                default_constraining_bijector_fn=(
                    lambda: tfb.Softplus(low=dtype_util.eps(dtype))
                )
            ),
        )

    @property
    def hurst(self):
        """Hurst index H."""
        return self._hurst

    @property
    def scale(self):
        """Standard deviation of one increment."""
        return self._scale

    @property
    def num_steps(self):
        """Length of the series."""
        return self._num_steps

    def _event_shape(self):
        return tf.TensorShape([self._num_steps])

    def _event_shape_tensor(self):
        return tf.constant([self._num_steps], dtype=tf.int32)

    def _flat_params(self):
        hurst = tf.convert_to_tensor(self._hurst)
        scale = tf.convert_to_tensor(self._scale)
        batch_shape = self._batch_shape_tensor(hurst=hurst, scale=scale)
        flat_h = tf.reshape(tf.broadcast_to(hurst, batch_shape), [-1])
        flat_s = tf.reshape(tf.broadcast_to(scale, batch_shape), [-1])
        return flat_h, flat_s, batch_shape

    def _sample_n(self, n, seed=None):
        seed = samplers.sanitize_seed(seed, salt="FractionalGaussianNoise")
        flat_h, flat_s, batch_shape = self._flat_params()
        h64 = tf.cast(flat_h, tf.float64)
        num_steps = self._num_steps
        eigenvalues = _circulant_eigenvalues(h64, num_steps)
        worst = tf.reduce_min(
            eigenvalues / tf.reduce_max(eigenvalues, axis=-1, keepdims=True)
        )
        embedding_ok = worst >= -_EIGEN_RTOL

        def fallback():
            logger.info("circulant embedding failed; using the Cholesky sampler")
            return _sample_cholesky(h64, n, num_steps, self.dtype, seed)

        samples = tf.cond(
            embedding_ok,
            lambda: _sample_circulant(eigenvalues, n, num_steps, self.dtype, seed),
            fallback,
        )
        samples = samples * flat_s[tf.newaxis, :, tf.newaxis]
        out_shape = tf.concat([[n], batch_shape, [num_steps]], axis=0)
        return tf.reshape(samples, out_shape)

    def _log_prob(self, x):
        hurst = tf.convert_to_tensor(self._hurst)
        scale = tf.convert_to_tensor(self._scale)
        batch_shape = self._batch_shape_tensor(hurst=hurst, scale=scale)
        num_steps = self._num_steps
        x = tf.convert_to_tensor(x, dtype=self.dtype)
        full_shape = tf.broadcast_dynamic_shape(
            tf.shape(x), tf.concat([batch_shape, [num_steps]], axis=0)
        )
        x = tf.broadcast_to(x, full_shape)
        # Leading dims beyond the batch rank are sample dims; the batch part
        # may be wider than batch_shape where x broadcasts against it.
        batch_rank = tf.size(batch_shape)
        sample_shape = full_shape[: tf.size(full_shape) - batch_rank - 1]
        wide_batch = full_shape[tf.size(full_shape) - batch_rank - 1 : -1]
        flat_h = tf.reshape(tf.broadcast_to(hurst, wide_batch), [-1])
        flat_s = tf.reshape(tf.broadcast_to(scale, wide_batch), [-1])
        x = tf.reshape(x, [-1, tf.size(flat_h), num_steps])
        x = x / flat_s[:, tf.newaxis]
        gamma = _autocovariance(
            flat_h[:, tf.newaxis], tf.range(num_steps + 1, dtype=self.dtype)
        )
        log_unit = _durbin_levinson_log_prob(gamma, x, num_steps)
        log_prob = log_unit - num_steps * tf.math.log(flat_s)
        return tf.reshape(log_prob, tf.concat([sample_shape, wide_batch], 0))

    def _mean(self):
        _, _, batch_shape = self._flat_params()
        return tf.zeros(
            tf.concat([batch_shape, [self._num_steps]], 0), dtype=self.dtype
        )

    def _default_event_space_bijector(self):
        return tfb.Identity(validate_args=self.validate_args)

    def _parameter_control_dependencies(self, is_init):
        if not self.validate_args:
            return []
        assertions = []
        if is_init != tensor_util.is_ref(self._hurst):
            hurst = tf.convert_to_tensor(self._hurst)
            assertions += [
                tf.debugging.assert_greater(
                    hurst, tf.zeros([], hurst.dtype), "`hurst` must be in (0, 1)."
                ),
                tf.debugging.assert_less(
                    hurst, tf.ones([], hurst.dtype), "`hurst` must be in (0, 1)."
                ),
            ]
        if is_init != tensor_util.is_ref(self._scale):
            assertions.append(
                tf.debugging.assert_positive(self._scale, "`scale` must be > 0.")
            )
        return assertions


@tf.function(reduce_retracing=True)
def _durbin_levinson_log_prob(gamma, x, num_steps):
    """Exact Gaussian log-density of stationary series by Durbin-Levinson.

    Args:
      gamma: (B, n+1) autocovariances gamma(0..n).
      x: (S, B, n) series.
      num_steps: n.

    Returns:
      (S, B) log-densities.
    """
    n = num_steps
    dtype = x.dtype
    idx = tf.range(n)
    log_two_pi = tf.constant(math.log(2.0 * math.pi), dtype)
    v0 = gamma[:, 0]
    total = -0.5 * (log_two_pi + tf.math.log(v0) + tf.square(x[..., 0]) / v0)

    def body(k, phi, v, total):
        # phi[:, j-1] holds phi_{k-1, j}, zero for j >= k.
        prev_rev = tf.gather(phi, tf.maximum(k - 2 - idx, 0), axis=1)
        mask_prev = tf.cast(idx < k - 1, dtype)
        gamma_rev = tf.gather(gamma, tf.maximum(k - 1 - idx, 0), axis=1)
        numer = gamma[:, k] - tf.reduce_sum(phi * gamma_rev * mask_prev, axis=1)
        phi_kk = numer / v
        phi = (phi - phi_kk[:, tf.newaxis] * prev_rev * mask_prev) + phi_kk[
            :, tf.newaxis
        ] * tf.cast(tf.equal(idx, k - 1), dtype)
        v = v * (1.0 - tf.square(phi_kk))
        x_rev = tf.gather(x, tf.maximum(k - 1 - idx, 0), axis=2)
        mask_k = tf.cast(idx < k, dtype)
        x_hat = tf.reduce_sum(phi * x_rev * mask_k, axis=2)
        resid = tf.gather(x, k, axis=2) - x_hat
        total = total - 0.5 * (log_two_pi + tf.math.log(v) + tf.square(resid) / v)
        return k + 1, phi, v, total

    phi0 = tf.zeros_like(gamma[:, :n])
    _, _, _, total = tf.while_loop(
        lambda k, *_: k < n,
        body,
        (tf.constant(1), phi0, v0, total),
    )
    return total
