"""Euler-Maruyama for dX = b(X, t) dt + sigma dL_t, many paths at once.

One step (Kloeden & Platen 1992, "Numerical Solution of Stochastic
Differential Equations", sec. 9.1; for Levy drivers Janicki & Weron 1994):

    X_{k+1} = X_k + b(X_k, t_k) dt + sigma * (s(dt) * xi_k + m(dt)),

with xi_k unit-time increments of the driver and s(dt) = dt^(1/2) (Brownian),
dt^(1/alpha) (alpha-stable), dt^H (fractional); m(dt) = (2/pi) beta dt log dt
for alpha = 1 stable noise in S1, else 0.

Memory: the state is (paths, dims). Noise is drawn in blocks of at most
``max_block`` numbers. Brownian and Levy increments are independent in time,
so blocks cover (time chunk x path chunk). Fractional noise is correlated
over the whole horizon, so it is never split in time: each block holds the
full horizon for a subset of paths, drawn jointly by circulant embedding;
paths are independent, so splitting over paths keeps the joint covariance of
every path exact.
"""

from __future__ import annotations

import dataclasses
import logging
import math

import numpy as np
import tensorflow as tf
from tensorflow_probability.python.internal import samplers

from memsgd.sde import _validate
from memsgd.sde._drivers import make_driver
from memsgd.sde._potentials import Potential

logger = logging.getLogger(__name__)

__all__ = ["Simulation", "euler_maruyama"]

_MAX_BLOCK = 2**23


@dataclasses.dataclass(frozen=True)
class Simulation:
    """Result of ``euler_maruyama``.

    Attributes:
      final: (paths, dims) state at the horizon.
      exit_step: (paths,) int, first step k (1-based) with exited(X_k) true,
        -1 where the path never exited (censored); None without ``exit_fn``.
      times: (r,) times of the recorded states; empty without recording.
      paths: (r, paths, dims) recorded states, or None.
      dt: step size.
      num_steps: number of steps.
      driver: the driver's parameters.
    """

    final: np.ndarray
    exit_step: np.ndarray | None
    times: np.ndarray
    paths: np.ndarray | None
    dt: float
    num_steps: int
    driver: dict

    @property
    def horizon(self) -> float:
        """num_steps * dt."""
        return self.num_steps * self.dt

    def to_dict(self) -> dict:
        """JSON-safe summary (the arrays as lists)."""
        return {
            "dt": self.dt,
            "num_steps": self.num_steps,
            "driver": dict(self.driver),
            "final": self.final.tolist(),
            "exit_step": None if self.exit_step is None else self.exit_step.tolist(),
            "times": self.times.tolist(),
            "paths": None if self.paths is None else self.paths.tolist(),
        }


def _as_driver(driver):
    if isinstance(driver, str):
        return make_driver(driver)
    if not hasattr(driver, "unit_increments"):
        raise TypeError(
            "`driver` must be 'brownian', 'levy', 'fbm' or a driver object "
            f"(BrownianDriver, LevyDriver, FractionalDriver). Received: {driver!r}"
        )
    return driver


def _as_drift(drift_or_potential):
    if isinstance(drift_or_potential, Potential):
        return drift_or_potential.drift
    if callable(drift_or_potential):
        return drift_or_potential
    raise TypeError(
        "`drift_or_potential` must be a Potential or a callable b(x, t). "
        f"Received: {drift_or_potential!r}"
    )


def euler_maruyama(
    drift_or_potential,
    driver,
    x0,
    dt: float,
    num_steps: int,
    num_paths: int,
    *,
    sigma: float = 1.0,
    seed=0,
    exit_fn=None,
    record_every: int = 0,
    increments=None,
    scheme: str = "euler",
    max_block: int = _MAX_BLOCK,
    dtype=tf.float32,
    jit_compile: bool = True,
) -> Simulation:
    """Simulates dX = b(X, t) dt + sigma dL_t by Euler-Maruyama.

    X_{k+1} = X_k + b(X_k, k dt) dt + sigma s(dt) xi_k with s(dt) = dt^(1/2),
    dt^(1/alpha) or dt^H for Brownian, alpha-stable and fractional drivers
    (Kloeden & Platen 1992, doi:10.1007/978-3-662-12616-5, sec. 9.1).

    Args:
      drift_or_potential: a ``Potential`` (drift -grad U, by GradientTape
        unless the potential gives it in closed form) or a callable
        ``b(x, t)`` on TF tensors x of shape (paths, dims).
      driver: "brownian", or a ``BrownianDriver``, ``LevyDriver(alpha, beta)``
        or ``FractionalDriver(hurst)``.
      x0: start, a scalar, (dims,) or (num_paths, dims).
      dt: step size > 0.
      num_steps: number of steps >= 1.
      num_paths: number of independent paths >= 1.
      sigma: noise amplitude >= 0.
      seed: an int or a TFP stateless seed; the whole run is a function of it.
      exit_fn: optional TF callable x -> bool (paths,); the first step at
        which it is true is returned per path as ``exit_step``.
      record_every: keep the state every this many steps (0: keep none).
      increments: optional pre-drawn driver increments L_{(k+1)dt} - L_{k dt},
        shape (num_steps, num_paths, dims), used instead of drawing (to
        couple runs, e.g. for strong-error studies); sigma still multiplies
        them and ``driver`` is only recorded.
      scheme: "euler", or "tamed": the drift step b dt is replaced by
        b dt / (1 + dt |b|) (Hutzenthaler, Jentzen & Kloeden 2012,
        doi:10.1214/11-AAP803), which keeps superlinear drifts (the quartic
        walls of ``DoubleWell``) from overshooting and exploding after a large
        alpha-stable jump; same strong order as Euler where |b| dt is small.
      max_block: largest number of noise values held in memory at once.
      dtype: tf.float32 (fast) or tf.float64.
      jit_compile: compile the step loop with XLA.

    Returns:
      A ``Simulation``.
    """
    dt = _validate.check_positive("dt", dt)
    num_steps = _validate.check_positive_int("num_steps", num_steps)
    num_paths = _validate.check_positive_int("num_paths", num_paths)
    sigma = float(sigma)
    if not (sigma >= 0 and math.isfinite(sigma)):
        raise ValueError(f"`sigma` must be a finite number >= 0. Received: {sigma}")
    max_block = _validate.check_positive_int("max_block", max_block)
    _validate.check_choice("scheme", scheme, ("euler", "tamed"))
    if isinstance(record_every, bool) or int(record_every) < 0:
        raise ValueError(
            f"`record_every` must be an integer >= 0. Received: {record_every!r}"
        )
    record_every = int(record_every)
    driver = _as_driver(driver)
    drift = _as_drift(drift_or_potential)
    dtype = tf.as_dtype(dtype)

    x0 = np.asarray(x0, dtype=dtype.as_numpy_dtype)
    if x0.ndim == 0:
        x0 = x0.reshape(1, 1)
    elif x0.ndim == 1:
        x0 = x0[np.newaxis, :]
    if x0.ndim != 2 or x0.shape[0] not in (1, num_paths):
        raise ValueError(
            "`x0` must be a scalar, (dims,) or (num_paths, dims). "
            f"Received: x0 of shape {x0.shape} with num_paths={num_paths}"
        )
    dims = x0.shape[1]
    x0 = np.broadcast_to(x0, (num_paths, dims))

    # Block layout: fractional noise spans the whole horizon per path.
    if driver.memory:
        # The embedding holds 2n complex numbers per pair of series.
        per_path = 4 * num_steps * dims
        path_chunk = max(1, min(num_paths, max_block // per_path))
        time_chunk = num_steps
    else:
        path_chunk = max(1, min(num_paths, max_block))
        time_chunk = max(1, min(num_steps, max_block // (path_chunk * dims)))
    num_path_chunks = -(-num_paths // path_chunk)
    path_chunk = -(-num_paths // num_path_chunks)  # equal chunks, padded
    padded = path_chunk * num_path_chunks
    x0 = np.concatenate([x0, np.broadcast_to(x0[:1], (padded - num_paths, dims))])
    if increments is not None:
        increments = np.asarray(increments, dtype=dtype.as_numpy_dtype)
        if increments.shape != (num_steps, num_paths, dims):
            raise ValueError(
                "`increments` must have shape (num_steps, num_paths, dims) = "
                f"{(num_steps, num_paths, dims)}. Received: {increments.shape}"
            )
        pad = np.zeros((num_steps, padded - num_paths, dims), increments.dtype)
        increments = np.concatenate([increments, pad], axis=1)

    num_records = num_steps // record_every if record_every else 0
    scale = tf.constant(sigma * driver.increment_scale(dt), dtype)
    shift = tf.constant(sigma * driver.increment_shift(dt), dtype)
    sigma_t = tf.constant(sigma, dtype)
    integrate = _integrator(
        drift, exit_fn, record_every, num_records, jit_compile, scheme == "tamed"
    )
    seed = samplers.sanitize_seed(seed, salt="euler_maruyama")
    params = tuple(tf.constant(v, dtype) for v in driver.params())

    finals, exits, records = [], [], []
    for p in range(num_path_chunks):
        x = tf.constant(x0[p * path_chunk : (p + 1) * path_chunk])
        exit_step = tf.fill([path_chunk], -1)
        rec = tf.zeros([num_records, path_chunk, dims], dtype)
        for step0 in range(0, num_steps, time_chunk):
            steps = min(time_chunk, num_steps - step0)
            block_seed = samplers.fold_in(samplers.fold_in(seed, p), step0)
            if increments is not None:
                noise = tf.constant(
                    increments[
                        step0 : step0 + steps, p * path_chunk : (p + 1) * path_chunk
                    ]
                )
            elif driver.block_sampler is None:
                noise = driver.unit_increments(
                    [steps, path_chunk, dims], block_seed, dtype
                )
            else:
                noise = _block_fn(
                    type(driver), steps, path_chunk, dims, dtype, driver.branch
                )(block_seed, params)
            x, exit_step, rec = integrate(
                x,
                exit_step,
                rec,
                noise * sigma_t if increments is not None else noise * scale + shift,
                tf.constant(step0),
                tf.constant(dt, dtype),
            )
        finals.append(x.numpy())
        exits.append(exit_step.numpy())
        records.append(rec.numpy())
        logger.debug("euler_maruyama: path chunk %d/%d done", p + 1, num_path_chunks)

    final = np.concatenate(finals)[:num_paths]
    exit_step = np.concatenate(exits)[:num_paths] if exit_fn is not None else None
    paths = np.concatenate(records, axis=1)[:, :num_paths] if num_records else None
    times = dt * record_every * np.arange(1, num_records + 1, dtype=float)
    return Simulation(
        final=final,
        exit_step=exit_step,
        times=times,
        paths=paths,
        dt=dt,
        num_steps=num_steps,
        driver=driver.to_dict(),
    )


_INTEGRATORS: dict = {}


def _block_fn(driver_type, steps, path_chunk, dims, dtype, branch=None):
    """A sampler of unit increments for one block, run eagerly.

    Not compiled with XLA: XLA's random-number kernels on CPU are many times
    slower than TensorFlow's own, and slow down badly on a busy machine. Not
    wrapped in ``tf.function`` either: each block is a few large ops, so
    graph mode gains nothing and would retrace for every block shape.
    """
    sampler = driver_type.block_sampler
    shape = [steps, path_chunk, dims]
    return lambda seed, params: sampler(shape, seed, params, dtype, branch)


def _value_key(fn):
    """Cache key of a callable: bound methods by their owner's value.

    Since Python 3.8 two bound methods are equal only when their owners are
    the same object, so ``DoubleWell(1.0).drift`` made twice would miss the
    cache and build (and trace) a new ``tf.function`` on every call. Frozen
    dataclass potentials compare by value, so key on (owner, function).
    """
    owner = getattr(fn, "__self__", None)
    if owner is None:
        return fn
    return (owner, fn.__func__)


def _integrator(drift, exit_fn, record_every, num_records, jit_compile, tamed):
    """A compiled loop over one noise block, cached per (drift, exit, rec)."""
    key = (
        _value_key(drift),
        _value_key(exit_fn),
        record_every,
        num_records,
        jit_compile,
        tamed,
    )
    try:
        cached = _INTEGRATORS.get(key)
    except TypeError:  # unhashable drift: no caching
        cached, key = None, None
    if cached is not None:
        return cached

    def integrate(x, exit_step, rec, noise, step0, dt):
        steps = tf.shape(noise)[0]

        def body(i, x, exit_step, rec):
            step = step0 + i
            t = tf.cast(step, dt.dtype) * dt
            step_drift = drift(x, t) * dt
            if tamed:
                size = tf.norm(step_drift, axis=-1, keepdims=True)
                step_drift = step_drift / (1.0 + size)
            x = x + step_drift + noise[i]
            if exit_fn is not None:
                newly = tf.logical_and(exit_step < 0, exit_fn(x))
                exit_step = tf.where(newly, step + 1, exit_step)
            if num_records:
                done = step + 1
                write = tf.equal(done % record_every, 0)
                index = tf.minimum(done // record_every - 1, num_records - 1)
                rec = tf.cond(
                    write,
                    lambda: tf.tensor_scatter_nd_update(rec, [[index]], x[None]),
                    lambda: rec,
                )
            return i + 1, x, exit_step, rec

        _, x, exit_step, rec = tf.while_loop(
            lambda i, *_: i < steps, body, (tf.constant(0), x, exit_step, rec)
        )
        return x, exit_step, rec

    compiled = tf.function(integrate, jit_compile=jit_compile, reduce_retracing=True)
    if key is not None:
        if len(_INTEGRATORS) > 64:
            _INTEGRATORS.clear()
        _INTEGRATORS[key] = compiled
    return compiled
