"""GradientProbe: the full-batch gradient every K steps, and the drain callback."""

from __future__ import annotations

import logging
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from memsgd.capture._graph import FullGradient, resolve_loss

logger = logging.getLogger(__name__)


def _check_model(model) -> None:
    if not isinstance(model, keras.Model) and not isinstance(model, keras.Layer):
        raise TypeError(
            f"`model` must be a keras.Model. Received: model={type(model).__name__}"
        )
    if not model.trainable_variables:
        raise ValueError(
            f"The model {model.name!r} has no trainable variables. Build it "
            "first (give it an `Input`, or call it on a batch) before "
            "recording its gradient noise."
        )


def _check_data(x, y, what: str):
    if x is None or y is None:
        raise ValueError(
            f"{what} needs the training data: pass `x` and `y` (arrays with "
            "the samples along the first axis). Received: "
            f"x={'None' if x is None else type(x).__name__}, "
            f"y={'None' if y is None else type(y).__name__}"
        )
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim == 0 or x.shape[0] == 0:
        raise ValueError(
            f"{what} needs at least one sample. Received: x.shape={x.shape}"
        )
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"`x` and `y` must have the same number of samples. Received: "
            f"x.shape={x.shape}, y.shape={y.shape}"
        )
    return x, y


class GradientProbe(keras.callbacks.Callback):
    """Computes grad L(w_k) in-graph every ``every`` steps and drains records.

    The full gradient is taken inside the wrapped optimizer's ``apply``, before
    the update, so it is evaluated at exactly the weights w_k at which ``fit``
    took the minibatch gradient g_k. With ``every=1`` every recorded
    xi_k = g_k - grad L(w_k) is exact; with ``every=K`` the rows in between
    use the last full gradient and carry its age (``probe_age``).

    Pass the probe both to :class:`NoiseRecorder` (or let it find the
    recorder through ``model.optimizer``) and to ``fit(callbacks=[...])``:
    as a callback it writes the recorded rows to the HDF5 file every
    ``flush_every`` steps and at the end of each epoch.

    Args:
        model: the Keras model being trained (built).
        loss: the training loss (a ``keras.losses.Loss``, function or name);
            ``None`` takes ``model.loss`` after ``compile``. Must be the loss
            ``fit`` minimises (regularisation losses are added automatically).
        x, y: the training set (numpy arrays). The probe keeps them in
            (non-trainable) TF variables.
        every: K, compute the full gradient every K optimizer steps.
        batch_size: chunk size of the full-gradient pass. With batch
            normalisation in training mode each chunk uses its own batch
            statistics; use the training batch size to match ``fit``.
        reference_size: take grad L over a random subset of this many
            samples instead of the whole training set (cheaper by N/M).
        reference_sampling: with ``reference_size``, ``"resampled"`` (the
            default) draws a fresh subset at every probe, so the reference's
            error is white noise, uncorrelated with xi and across steps: it
            adds variance (a share r = (1/M - 1/N) / (1/b - 1/N) of xi's, for
            minibatches of b) but no memory, so autocorrelations at lags >= 1
            shrink by 1 / (1 + r) and nothing else. ``"fixed"`` uses one
            subset drawn once; its error moves smoothly with the weights and
            adds a persistent term that biases H-hat upward (docs/capture.md).
        training: call the model in training mode (default, as ``fit`` does);
            moving statistics are never changed by the probe.
        loss_scale: multiply the loss by this before differentiating (and
            divide the gradient after); ``"auto"`` uses 2**12 when the model
            computes in float16 and 1 otherwise.
        seed: seed of the reference subset(s).
    """

    def __init__(
        self,
        model,
        loss=None,
        x=None,
        y=None,
        every: int = 1,
        batch_size: int = 1024,
        reference_size: int | None = None,
        reference_sampling: str = "resampled",
        training: bool = True,
        loss_scale="auto",
        seed: int = 0,
    ):
        super().__init__()
        _check_model(model)
        x, y = _check_data(x, y, "GradientProbe")
        if not isinstance(every, (int, np.integer)) or every < 1:
            raise ValueError(
                f"`every` must be an integer >= 1. Received: every={every!r}"
            )
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(
                "`batch_size` must be an integer >= 1. "
                f"Received: batch_size={batch_size!r}"
            )
        if reference_sampling not in ("resampled", "fixed"):
            raise ValueError(
                "`reference_sampling` must be 'resampled' or 'fixed'. "
                f"Received: reference_sampling={reference_sampling!r}"
            )
        n = x.shape[0]
        self.population = int(n)
        if reference_size is not None:
            if not 1 <= reference_size <= n:
                raise ValueError(
                    f"`reference_size` must be in [1, {n}]. "
                    f"Received: reference_size={reference_size!r}"
                )
            if reference_size == n:
                reference_size = None
        if reference_size is not None and reference_sampling == "fixed":
            idx = np.sort(
                np.random.default_rng(seed).choice(n, reference_size, replace=False)
            )
            x, y = x[idx], y[idx]
        if loss_scale == "auto":
            compute = getattr(getattr(model, "dtype_policy", None), "compute_dtype", "")
            loss_scale = 2.0**12 if compute in ("float16",) else None
        self._probe_model = model
        self._loss = loss
        self.every = int(every)
        self.batch_size = int(batch_size)
        self.reference_size = reference_size
        self.reference_sampling = reference_sampling if reference_size else None
        self.num_samples = int(reference_size or n)
        self.training = bool(training)
        self.loss_scale = loss_scale
        self.seed = seed
        with tf.init_scope():
            self._x = tf.Variable(x, trainable=False, name="memsgd_probe_x")
            self._y = tf.Variable(y, trainable=False, name="memsgd_probe_y")
        self._full: Any = None
        self.recorder: Any = None
        # The hooks below never read `logs`: let Keras skip converting them.
        self._supports_tf_logs = True
        self._last_flush = 0

    @property
    def loss(self):
        return resolve_loss(self._loss, self._probe_model)

    @tf.autograph.experimental.do_not_convert
    def full_gradient(self, variables, shard: bool = True, draw=0):
        """In-graph: ([grad L per variable in ``variables``], L).

        Under a strategy, ``shard`` shares the chunks out among the replicas
        and sums the parts; without it each replica does the whole pass.
        ``draw`` (the step) keys a resampled reference subset.
        """
        if self._full is None:
            self._full = FullGradient(
                self._probe_model,
                self.loss,
                self._x,
                self._y,
                self.batch_size,
                training=self.training,
                loss_scale=self.loss_scale,
                # A fixed subset is x itself; a resampled one is drawn per call.
                subset=self.reference_size
                if self.reference_sampling == "resampled"
                else None,
                seed=self.seed,
            )
        return self._full(variables, shard=shard, draw=draw)

    def config(self) -> dict:
        return {
            "probe_every": self.every,
            "probe_batch_size": self.batch_size,
            "reference_size": self.reference_size,
            "reference_sampling": self.reference_sampling,
            "probe_samples": self.num_samples,
            "probe_population": self.population,
            "probe_training": self.training,
            "probe_loss_scale": self.loss_scale,
            "probe_seed": self.seed,
        }

    # Callback hooks: find the recorder, drain it.

    def set_model(self, model):
        super().set_model(model)
        from memsgd.capture._recorder import find_recorder

        recorder = find_recorder(model.optimizer)
        if recorder is None:
            raise ValueError(
                "GradientProbe is a callback for a model compiled with a "
                "memsgd NoiseRecorder; the model's optimizer is "
                f"{type(model.optimizer).__name__}."
            )
        recorder.attach(model, probe=self)
        self.recorder = recorder

    def on_epoch_begin(self, epoch, logs=None):
        self._last_flush = 0
        if self.recorder is not None:
            self.recorder.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        # Count steps in Python (`batch` is the last step of the execution)
        # instead of reading the graph's counter, which would make every
        # step wait for the device.
        if self.recorder is not None:
            if batch + 1 - self._last_flush >= self.recorder.flush_every:
                self.recorder.flush()
                self._last_flush = batch + 1

    def on_epoch_end(self, epoch, logs=None):
        if self.recorder is not None:
            self.recorder.flush()

    def on_train_end(self, logs=None):
        if self.recorder is not None:
            self.recorder.flush()
