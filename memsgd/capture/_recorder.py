"""NoiseRecorder: a Keras 3 optimizer wrapper that records SGN in-graph."""

from __future__ import annotations

import json
import logging
import threading
import warnings
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras.src.utils import tracking

from memsgd.capture import _graph
from memsgd.capture._coords import select_coordinates
from memsgd.recording import RecordingWriter, check_writable

logger = logging.getLogger(__name__)

_BASE_DEFAULTS = {
    "weight_decay": None,
    "clipnorm": None,
    "global_clipnorm": None,
    "clipvalue": None,
    "use_ema": False,
    "ema_momentum": 0.99,
    "ema_overwrite_frequency": None,
    "loss_scale_factor": None,
    "gradient_accumulation_steps": None,
}


def find_recorder(optimizer):
    """The NoiseRecorder in ``optimizer`` (itself, or inside a loss scaler)."""
    seen = 0
    while optimizer is not None and seen < 8:
        if isinstance(optimizer, NoiseRecorder):
            return optimizer
        optimizer = getattr(optimizer, "inner_optimizer", None)
        seen += 1
    return None


def versions() -> dict:
    import h5py

    import memsgd

    return {
        "memsgd_version": memsgd.__version__,
        "tensorflow_version": tf.__version__,
        "keras_version": keras.__version__,
        "numpy_version": np.__version__,
        "h5py_version": h5py.__version__,
    }


class _State:
    """The recorder's buffers: plain TF variables, not optimizer state.

    They are kept in a plain object so that Keras does not track them: they
    are not saved with the model and ``optimizer.variables`` is the same
    with and without recording.
    """


# Columns of the int64 ring buffer, in order.
_INT_FIELDS = ("step", "batch_size", "skipped", "probe_age", "probe_index")


class _Columns:
    """Where each field lies in the rows of the packed float32 buffers.

    A step's row: xi on the C coordinates, then ||g||, ||xi|| and cos(g, G)
    for the L variables, the learning rate, the loss and M projections. A
    probe's row: grad L on the coordinates, the full loss, M projections.
    """

    def __init__(self, c: int, n_vars: int, m: int):
        self.sgn = slice(0, c)
        self.layers = {
            name: slice(c + k * n_vars, c + (k + 1) * n_vars)
            for k, name in enumerate(("grad_norm", "sgn_norm", "cosine"))
        }
        self.lr = c + 3 * n_vars
        self.loss = self.lr + 1
        self.proj = slice(self.loss + 1, self.loss + 1 + m)
        self.floats = self.loss + 1 + m
        self.full_loss = c
        self.full_proj = slice(c + 1, c + 1 + m)
        self.full_floats = c + 1 + m


def _buffer(shape, dtype, fill, name, local=False):
    """A recording buffer; under a strategy, mirrored or (``local``) per replica.

    Mirrored buffers (ON_WRITE, first replica's value) are written in the
    replica context through a merge call. That is not allowed inside
    ``tf.cond``, so what the probe writes there is ``local``: ON_READ, each
    replica writes its own copy (the values are the same, computed after the
    all-reduce) and a read outside returns the first replica's copy.
    """
    kwargs = {}
    if tf.distribute.has_strategy():
        sync = tf.VariableSynchronization
        kwargs = {
            "synchronization": sync.ON_READ if local else sync.ON_WRITE,
            "aggregation": tf.VariableAggregation.ONLY_FIRST_REPLICA,
        }
    return tf.Variable(
        tf.fill(shape, tf.constant(fill, dtype)),
        trainable=False,
        name=f"memsgd_{name}",
        **kwargs,
    )


def _local(buffer):
    """This replica's own copy of a ``local`` buffer (itself when not
    distributed). Writing it directly skips the distribution machinery,
    which would otherwise ask for a merge call. Uses TF's long-standing
    private ``_get_on_device_or_primary``."""
    if (
        getattr(buffer, "synchronization", None) == tf.VariableSynchronization.ON_READ
        and hasattr(buffer, "_get_on_device_or_primary")
        and not tf.distribute.in_cross_replica_context()
    ):
        return buffer._get_on_device_or_primary()
    return buffer


def _put(buffer, index, value):
    value = tf.convert_to_tensor(value, buffer.dtype)
    buffer = _local(buffer)
    return buffer.scatter_update(
        tf.IndexedSlices(tf.expand_dims(value, 0), tf.reshape(index, [1]))
    )


@keras.saving.register_keras_serializable(package="memsgd")
class NoiseRecorder(keras.optimizers.Optimizer):
    """Wraps an optimizer and records the SGN of the gradients it is given.

    A good Keras guest in the manner of ``keras.optimizers.LossScaleOptimizer``:
    ``learning_rate``, ``iterations`` and ``variables`` are the inner
    optimizer's; ``apply`` (the method that ``fit``, ``apply_gradients`` and
    the loss-scale optimizer all reach) records and then hands the same
    gradients to the inner optimizer, unchanged.

    Each step, in the graph (no Python callbacks, so ``jit_compile``,
    ``steps_per_execution > 1`` and ``run_eagerly`` all work), it writes to
    ring buffers of ``capacity`` rows: xi_k = g_k - grad L on the recorded
    coordinates, the per-variable ||g_k||, ||xi_k|| and cos(g_k, grad L), the
    step, learning rate and minibatch loss. The full gradient comes from a
    :class:`GradientProbe`, taken in the same ``apply`` before the update,
    so at the weights g_k was taken at. The probe (a callback) drains the
    buffers to HDF5 every ``flush_every`` steps; only one full gradient (the
    latest) is kept at model size, never one per step.

    Under a ``tf.distribute`` strategy the recorded gradient is the global
    (all-reduced) minibatch gradient; the inner optimizer still receives the
    per-replica gradients it would have received without the wrapper.

    Args:
        inner_optimizer: the ``keras.optimizers.Optimizer`` to wrap.
        probe: a :class:`GradientProbe`; may also be attached later by passing
            the probe to ``fit(callbacks=[probe])``.
        path: the HDF5 file to write (created or appended to).
        num_coords: number of recorded coordinates (``None``: all).
        seed: seed of the coordinate draw.
        exclude: kinds of parameters not recorded: ``"bias"``, ``"norm"``.
        group: the group name in the file.
        flush_every: drain to disk every this many steps (and at the end of
            each epoch and of ``fit``). An interrupted run loses at most this
            many steps (plus ``steps_per_execution - 1``).
        capacity: rows held in the graph buffers; at least
            ``flush_every + steps_per_execution``. Default ``4 * flush_every``.
        metadata: extra file-level attributes (model, dataset, seeds...).
        num_projections: M, record <g_k, r_j> for M fixed random unit
            directions r_j over all parameters (drawn with ``seed``; they
            cost M model-size float32 vectors of memory). 0: none.
        name: the optimizer's name.
    """

    def __init__(
        self,
        inner_optimizer,
        probe=None,
        path=None,
        num_coords: int | None = 4096,
        seed: int = 0,
        exclude=(),
        group: str = "in_training",
        flush_every: int = 100,
        capacity: int | None = None,
        metadata: dict | None = None,
        num_projections: int = 0,
        name: str | None = None,
        **kwargs,
    ):
        if not isinstance(inner_optimizer, keras.optimizers.Optimizer):
            raise TypeError(
                "`inner_optimizer` must be a keras.optimizers.Optimizer "
                "instance (for example keras.optimizers.SGD(0.1)). Received: "
                f"inner_optimizer={inner_optimizer!r} of type "
                f"{type(inner_optimizer).__name__}"
            )
        for arg, default in _BASE_DEFAULTS.items():
            if arg in kwargs and kwargs.pop(arg) != default:
                raise ValueError(
                    f"NoiseRecorder does not take `{arg}`; set it on the "
                    "inner optimizer instead."
                )
        if kwargs:
            raise ValueError(
                f"NoiseRecorder does not take the arguments {sorted(kwargs)}."
            )
        if path is None:
            raise ValueError("`path` (the HDF5 file to write) is required.")
        check_writable(path)
        if not isinstance(flush_every, (int, np.integer)) or flush_every < 1:
            raise ValueError(
                "`flush_every` must be an integer >= 1. "
                f"Received: flush_every={flush_every!r}"
            )
        if capacity is None:
            capacity = 4 * int(flush_every)
        if capacity < flush_every:
            raise ValueError(
                "`capacity` must be at least `flush_every`. Received: "
                f"capacity={capacity}, flush_every={flush_every}"
            )
        if num_coords is not None and (
            not isinstance(num_coords, (int, np.integer)) or num_coords < 1
        ):
            raise ValueError(
                "`num_coords` must be a positive integer or None. "
                f"Received: num_coords={num_coords!r}"
            )
        if not isinstance(num_projections, (int, np.integer)) or num_projections < 0:
            raise ValueError(
                "`num_projections` must be an integer >= 0. "
                f"Received: num_projections={num_projections!r}"
            )
        super().__init__(learning_rate=0.0, name=name)
        self.num_projections = int(num_projections)
        self.inner_optimizer = inner_optimizer
        self.path = str(path)
        self.num_coords = None if num_coords is None else int(num_coords)
        self.seed = int(seed)
        self.exclude = tuple(exclude or ())
        self.group = group
        self.flush_every = int(flush_every)
        self.capacity = int(capacity)
        self.metadata = dict(metadata or {})
        self.epoch = -1
        self.probe: Any = None
        self._rec = None
        self._model = None
        self._writer = None
        self._local = threading.local()
        self._drained = 0
        self._probes_drained = 0
        self._lost = 0
        self._lso_patched = None
        if probe is not None:
            self.set_probe(probe)

    # ------------------------------------------------------------------
    # Forwarding, as LossScaleOptimizer does.

    @property
    def learning_rate(self):
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, learning_rate):
        self.inner_optimizer.learning_rate = learning_rate

    @property
    def iterations(self):
        return self.inner_optimizer.iterations

    @property
    def variables(self):
        return self._variables + self.inner_optimizer.variables

    def scale_loss(self, loss):
        # fit calls this with the minibatch loss inside the tape: remember it
        # for the record of the `apply` that follows in the same trace.
        self._local.loss = loss
        return self.inner_optimizer.scale_loss(loss)

    def finalize_variable_values(self, var_list):
        self.inner_optimizer.finalize_variable_values(var_list)
        if tf.executing_eagerly():
            self.flush()

    def stateless_apply(self, optimizer_variables, grads, trainable_variables):
        raise NotImplementedError(
            "NoiseRecorder records with TensorFlow variables and does not "
            "support stateless_apply (the JAX training path)."
        )

    # ------------------------------------------------------------------
    # Wiring.

    def set_probe(self, probe) -> None:
        """Use ``probe`` (a GradientProbe) for the full gradient."""
        from memsgd.capture._probe import GradientProbe

        if not isinstance(probe, GradientProbe):
            raise TypeError(
                "`probe` must be a memsgd GradientProbe. Received: "
                f"{type(probe).__name__}"
            )
        if self.probe is not None and self.probe is not probe:
            if self.built and self._rec is not None and self._rec.traced:
                raise ValueError(
                    "This NoiseRecorder was already traced with another probe."
                )
        self.probe = probe
        probe.recorder = self

    def attach(self, model, probe=None) -> None:
        """Link the model (and probe); called by the probe's ``set_model``.

        Under mixed precision Keras wraps this optimizer in a
        LossScaleOptimizer; attaching teaches that wrapper to report skipped
        (overflow) steps and the minibatch loss to this recorder.
        """
        if probe is not None and self.probe is not probe:
            self.set_probe(probe)
        self._model = model
        outer = getattr(model, "optimizer", None)
        lso = keras.optimizers.LossScaleOptimizer
        if (
            isinstance(outer, lso)
            and outer.inner_optimizer is self
            and self._lso_patched is not outer
        ):
            skip = outer._stateful_handle_non_finite_grads
            scale = outer.scale_loss

            def non_finite():
                skip()
                self._record_skip()

            def scale_loss(loss):
                self._local.loss = loss
                return scale(loss)

            outer._stateful_handle_non_finite_grads = non_finite
            outer.scale_loss = scale_loss
            self._lso_patched = outer

    # ------------------------------------------------------------------
    # Building: coordinates and buffers.

    @tracking.no_automatic_dependency_tracking
    def build(self, var_list):
        self.inner_optimizer.build(var_list)
        super().build(var_list)
        self._setup(list(var_list))

    def _setup(self, var_list):
        coords = select_coordinates(var_list, self.num_coords, self.seed, self.exclude)
        c, n_vars, cap = len(coords), len(var_list), self.capacity
        rec = _State()
        self._writes = _writes_file(tf.distribute.get_strategy())
        rec.coords = coords
        rec.var_list = var_list
        rec.traced = False
        m = self.num_projections
        # Per-step fields share two ring buffers (one float32 row with xi,
        # the summaries, lr and loss; one int64 row with the counters): each
        # buffer is one scatter per step, and on CPU each op costs the step
        # microseconds. `flush` unpacks the columns into the file's datasets.
        rec.cols = _Columns(c, n_vars, m)
        with tf.init_scope():
            rec.full = [
                _buffer(tuple(v.shape), tf.float32, 0.0, "full_grad", local=True)
                for v in var_list
            ]
            rec.full_sq = _buffer((n_vars,), tf.float32, 0.0, "full_sq", local=True)
            rec.floats = _buffer((cap, rec.cols.floats), tf.float32, np.nan, "floats")
            rec.ints = _buffer((cap, len(_INT_FIELDS)), tf.int64, -1, "ints")
            rec.full_floats = _buffer(
                (cap, rec.cols.full_floats), tf.float32, np.nan, "full", local=True
            )
            rec.full_step = _buffer((cap,), tf.int64, -1, "full_step", local=True)
            rec.rows = _buffer((), tf.int64, 0, "rows")
            rec.probes = _buffer((), tf.int64, 0, "probes", local=True)
            rec.skips = _buffer((), tf.int64, 0, "skips")
            rec.last_probe = _buffer((), tf.int64, -1, "last_probe", local=True)
            rec.seen = _buffer((), tf.float32, 0.0, "seen")
            rec.directions = None
            if m:
                rec.directions = [
                    tf.Variable(r, trainable=False, name="memsgd_direction")
                    for r in _graph.random_directions(var_list, m, self.seed)
                ]
        self._rec = rec

    # ------------------------------------------------------------------
    # The step.

    @tf.autograph.experimental.do_not_convert
    def apply(self, grads, trainable_variables=None):
        if not self.built:
            if trainable_variables is None:
                raise ValueError(
                    "NoiseRecorder must be built before `apply` without "
                    "variables: call optimizer.build(model.trainable_variables)."
                )
            with keras.name_scope(self.name, caller=self):
                self.build(list(trainable_variables))
            self.built = True
        grads = list(grads)
        if self.probe is None:
            if not getattr(self, "_warned_no_probe", False):
                warnings.warn(
                    "NoiseRecorder has no GradientProbe: nothing is recorded. "
                    "Pass probe=... or fit(callbacks=[probe]).",
                    stacklevel=2,
                )
                self._warned_no_probe = True
            return self.inner_optimizer.apply(grads, trainable_variables)
        deps = self._record(grads, trainable_variables)
        with tf.control_dependencies(deps):
            return self.inner_optimizer.apply(grads, trainable_variables)

    def _global_grads(self, grads, trainable_variables):
        rec = self._rec
        if trainable_variables is None:
            by_id = {id(v): g for v, g in zip(rec.var_list, grads)}
        else:
            by_id = {id(v): g for v, g in zip(trainable_variables, grads)}
        ordered = [by_id.get(id(v)) for v in rec.var_list]
        return _graph.flatten_grads(ordered, rec.var_list)

    def _record(self, grads, trainable_variables):
        rec = self._rec
        rec.traced = True
        probe = self.probe
        g = self._global_grads(grads, trainable_variables)
        loss = getattr(self._local, "loss", None)
        self._local.loss = None
        loss = (
            tf.constant(np.nan, tf.float32)
            if loss is None
            else tf.cast(tf.reshape(loss, []), tf.float32)
        )
        ctx = tf.distribute.get_replica_context()
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        self._num_replicas = replicas
        if ctx is not None and replicas > 1:
            # What is recorded is the global-batch gradient (and loss: fit
            # divides each replica's loss by the number of replicas).
            g, loss = ctx.all_reduce(tf.distribute.ReduceOp.SUM, (g, loss))
        iterations = tf.cast(self.inner_optimizer.iterations, tf.int64)
        step = iterations + rec.skips

        per_variable = rec.coords.per_variable

        def take_probe():
            # Inside tf.cond (every > 1) no collective may run: no sharding.
            full, full_loss = probe.full_gradient(
                rec.var_list, shard=probe.every == 1, draw=step
            )
            p = _local(rec.probes).read_value() % self.capacity
            row = _graph.gather_coords(full, per_variable)
            row = [row, tf.reshape(tf.cast(full_loss, tf.float32), [1])]
            if self.num_projections:
                row.append(_graph.project(full, rec.directions))
            ops = [_local(f).assign(v) for f, v in zip(rec.full, full)]
            ops += [
                _local(rec.full_sq).assign(_graph.squared_norms(full)),
                _put(rec.full_floats, p, tf.concat(row, 0)),
                _put(rec.full_step, p, step),
            ]
            with tf.control_dependencies(ops):
                done = tf.group(
                    _local(rec.probes).assign_add(1),
                    _local(rec.last_probe).assign(step),
                )
            with tf.control_dependencies([done]):
                return tf.constant(True)

        if probe.every == 1:
            taken = take_probe()
        else:
            taken = tf.cond(
                tf.equal(iterations % probe.every, 0),
                take_probe,
                lambda: tf.constant(False),
            )
        with tf.control_dependencies([taken]):
            full = [_local(f).read_value() for f in rec.full]
            full_sq = _local(rec.full_sq).read_value()
            probe_age = step - _local(rec.last_probe).read_value()
            probe_index = _local(rec.probes).read_value() - 1
        parts, gnorm, xnorm, cos = _graph.noise_summaries(
            g, full, full_sq, per_variable
        )
        floats = [*parts, gnorm, xnorm, cos, tf.stack([self._current_lr(), loss])]
        if self.num_projections:
            floats.append(_graph.project(g, rec.directions))
        batch = tf.cast(self._batch_size(), tf.int64)
        # In the order of _INT_FIELDS; not skipped.
        ints = [step, batch, tf.constant(0, tf.int64), probe_age, probe_index]
        i = rec.rows % self.capacity
        ops = [
            _put(rec.floats, i, tf.concat(floats, 0)),
            _put(rec.ints, i, tf.stack(ints)),
        ]
        with tf.control_dependencies(ops):
            rec.rows.assign_add(1)
        # What the update must wait for: the probe, which reads the weights
        # it changes, and the all-reduce, so that collectives keep one order
        # on every worker. The summaries and buffer writes need not: they run
        # alongside the update (the step still ends after them), which on CPU
        # hides much of their cost. Reads of the step counter and learning
        # rate above keep their place before the update through TF's
        # automatic control dependencies on the same variables.
        return [taken, *g] if replicas > 1 else [taken]

    def _current_lr(self):
        lr = self.inner_optimizer._get_current_learning_rate()
        return tf.cast(lr, tf.float32)

    def _batch_size(self):
        """Samples in this step, from fit's loss tracker (-1 when unknown)."""
        rec = self._rec
        tracker = getattr(self._model, "_loss_tracker", None)
        count = getattr(tracker, "count", None)
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        if count is None or replicas > 1:
            return tf.constant(-1, tf.int32)
        count = tf.cast(_graph.as_tensor(count), tf.float32)
        prev = rec.seen.read_value()
        # The tracker is reset at each epoch: a drop means a new epoch began.
        delta = tf.where(count >= prev, count - prev, count)
        with tf.control_dependencies([rec.seen.assign(count)]):
            return tf.cast(tf.round(delta), tf.int32)

    def _record_skip(self):
        """Record a step skipped by the loss-scale optimizer (inf/NaN)."""
        rec = self._rec
        if rec is None:
            return None
        iterations = tf.cast(self.inner_optimizer.iterations, tf.int64)
        step = iterations + rec.skips
        i = rec.rows % self.capacity
        loss = getattr(self._local, "loss", None)
        self._local.loss = None
        loss = (
            tf.constant(np.nan, tf.float32)
            if loss is None
            else tf.cast(tf.reshape(loss, []), tf.float32)
        )
        cols = rec.cols
        lr_loss = tf.stack([self._current_lr(), loss])
        # Not noise: xi, the summaries and the projections are NaN.
        nan = np.float32(np.nan)
        floats = [tf.fill([cols.lr], nan), lr_loss]
        if self.num_projections:
            floats.append(tf.fill([self.num_projections], nan))
        # In the order of _INT_FIELDS: batch size unknown, skipped, no probe.
        ints = tf.stack([step, *(tf.constant(v, tf.int64) for v in (-1, 1, -1, -1))])
        ops = [
            _put(rec.floats, i, tf.concat(floats, 0)),
            _put(rec.ints, i, ints),
        ]
        with tf.control_dependencies(ops):
            rec.rows.assign_add(1)
            rec.skips.assign_add(1)
        return None

    # ------------------------------------------------------------------
    # Draining to HDF5 (eager, from the probe callback or by hand).

    def pending(self) -> int:
        """Rows recorded in the graph and not yet written."""
        if self._rec is None:
            return 0
        return int(self._rec.rows.numpy()) - self._drained

    def maybe_flush(self) -> None:
        """Flush when at least ``flush_every`` rows are waiting."""
        if self.pending() >= self.flush_every:
            self.flush()

    def _open_writer(self):
        rec = self._rec
        coords = rec.coords
        model = self._model
        inner = self.inner_optimizer
        meta = versions()
        meta.update(
            {
                "optimizer": json.loads(
                    json.dumps(keras.optimizers.serialize(inner), default=_json_default)
                ),
                "optimizer_class": type(inner).__name__,
            }
        )
        if model is not None:
            meta["model"] = model.name
            meta["num_params"] = int(model.count_params())
        meta.update(self.metadata)
        attrs = {
            "sampler": "fit",
            "num_coords": len(coords),
            "coord_seed": self.seed,
            "exclude": list(self.exclude),
            "flush_every": self.flush_every,
            "capacity": self.capacity,
            "num_replicas": getattr(self, "_num_replicas", 1),
            "loss_scaled": self._lso_patched is not None,
            "num_projections": self.num_projections,
        }
        if self.probe is not None:
            attrs.update(self.probe.config())
        self._writer = RecordingWriter(
            self.path,
            self.group,
            "in_training",
            coords.to_dict(),
            layer_names=coords.names,
            layer_sizes=coords.sizes,
            attrs=attrs,
            metadata=meta,
            num_projections=self.num_projections,
        )
        return self._writer

    def flush(self) -> int:
        """Write every waiting row to the file; returns the rows written."""
        rec = self._rec
        if rec is None or not tf.executing_eagerly():
            return 0
        rows = int(rec.rows.numpy())
        probes = int(rec.probes.numpy())
        if rows == self._drained and probes == self._probes_drained:
            return 0
        if not getattr(self, "_writes", True):
            # Another worker writes the file; keep the counters in step.
            self._drained, self._probes_drained = rows, probes
            return 0
        writer = self._writer or self._open_writer()
        cap, cols = self.capacity, rec.cols
        # One open of the file for the whole block.
        with writer.session():
            if probes > self._probes_drained:
                start = max(self._probes_drained, probes - cap)
                if start > self._probes_drained:
                    self._lost_warning(start - self._probes_drained, "full gradients")
                    # Keep probe_index pointing at the right file rows.
                    gap = start - self._probes_drained
                    writer.append_full(
                        np.full((gap, len(rec.coords)), np.nan, np.float32), -1
                    )
                idx = np.arange(start, probes) % cap
                full = _rows(rec.full_floats, idx)
                writer.append_full(
                    full[:, cols.sgn],
                    _rows(rec.full_step, idx),
                    full[:, cols.full_loss],
                    projections=full[:, cols.full_proj]
                    if self.num_projections
                    else None,
                )
                self._probes_drained = probes
            written = 0
            if rows > self._drained:
                start = max(self._drained, rows - cap)
                if start > self._drained:
                    self._lost_warning(start - self._drained, "steps")
                    self._lost += start - self._drained
                idx = np.arange(start, rows) % cap
                floats = _rows(rec.floats, idx)
                ints = dict(zip(_INT_FIELDS, _rows(rec.ints, idx).T))
                writer.append_rows(
                    floats[:, cols.sgn],
                    projections=floats[:, cols.proj] if self.num_projections else None,
                    layers={k: floats[:, v] for k, v in cols.layers.items()},
                    epoch=self.epoch,
                    lr=floats[:, cols.lr],
                    loss=floats[:, cols.loss],
                    **ints,
                )
                written = len(idx)
                self._drained = rows
            writer.close(skipped_steps=int(rec.skips.numpy()), lost_steps=self._lost)
        return written

    def _lost_warning(self, n, what):
        warnings.warn(
            f"NoiseRecorder lost {n} {what}: the buffers ({self.capacity} rows) "
            "filled before they were written. Pass the GradientProbe in "
            "fit(callbacks=[...]) or raise `capacity`.",
            RuntimeWarning,
            stacklevel=3,
        )

    # ------------------------------------------------------------------
    # Config.

    def get_config(self):
        return {
            "name": self.name,
            "inner_optimizer": keras.saving.serialize_keras_object(
                self.inner_optimizer
            ),
            "path": self.path,
            "num_coords": self.num_coords,
            "seed": self.seed,
            "exclude": list(self.exclude),
            "group": self.group,
            "flush_every": self.flush_every,
            "capacity": self.capacity,
            "metadata": self.metadata,
            "num_projections": self.num_projections,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        inner = keras.saving.deserialize_keras_object(
            config.pop("inner_optimizer"), custom_objects=custom_objects
        )
        return cls(inner, **config)


def _rows(buffer, idx) -> np.ndarray:
    """Only the rows ``idx`` of a buffer, copied from the device."""
    return tf.gather(buffer, tf.constant(idx, tf.int64)).numpy()


def _writes_file(strategy) -> bool:
    """Whether this process writes: the chief, or worker 0 without a chief."""
    resolver = getattr(strategy, "cluster_resolver", None)
    task_type = getattr(resolver, "task_type", None)
    if resolver is None or not task_type:
        return True
    if task_type == "chief":
        return True
    jobs = resolver.cluster_spec().jobs if resolver.cluster_spec() else []
    return task_type == "worker" and resolver.task_id == 0 and "chief" not in jobs


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    return str(value)
