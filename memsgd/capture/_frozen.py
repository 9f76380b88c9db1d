"""The frozen-weights protocol: fixed w, one full gradient, T minibatches."""

from __future__ import annotations

import logging
import time

import numpy as np
import tensorflow as tf

from memsgd import recording
from memsgd.capture import _graph
from memsgd.capture._coords import select_coordinates
from memsgd.capture._probe import _check_data, _check_model

logger = logging.getLogger(__name__)

SAMPLERS = ("without_replacement", "with_replacement")


def minibatch_indices(
    n: int, batch_size: int, num_batches: int, sampler: str, seed: int = 0
):
    """Indices of T minibatches and the sampler's epoch of each.

    ``"without_replacement"``: a shuffled, drop-last loader cycled over
    epochs (a fresh permutation each epoch), as in the authors' protocol; one
    epoch covers ``n // batch_size`` batches, each sample at most once.
    ``"with_replacement"``: every minibatch is ``batch_size`` distinct samples
    drawn uniformly, independently of the other minibatches.

    Returns:
        (indices (T, batch_size) int32, epoch (T,) int32).
    """
    if sampler not in SAMPLERS:
        raise ValueError(
            f"`sampler` must be one of {SAMPLERS}. Received: sampler={sampler!r}"
        )
    rng = np.random.default_rng(seed)
    out = np.empty((num_batches, batch_size), np.int32)
    epoch = np.zeros(num_batches, np.int32)
    if sampler == "with_replacement":
        for t in range(num_batches):
            out[t] = rng.choice(n, batch_size, replace=False)
        return out, epoch
    per_epoch = n // batch_size
    t, e = 0, 0
    while t < num_batches:
        perm = rng.permutation(n)[: per_epoch * batch_size].reshape(per_epoch, -1)
        k = min(per_epoch, num_batches - t)
        out[t : t + k] = perm[:k]
        epoch[t : t + k] = e
        t, e = t + k, e + 1
    return out, epoch


def _batch_gradient(model, loss, xb, yb, training, loss_scale):
    return _graph.model_gradient(
        model, loss, xb, yb, training, loss_scale, denominator=tf.shape(xb)[0]
    )


def record_frozen(
    model,
    loss=None,
    x=None,
    y=None,
    batch_size: int = 128,
    num_batches: int = 1000,
    sampler: str = "without_replacement",
    path=None,
    group: str | None = None,
    num_coords: int | None = 4096,
    seed: int = 0,
    exclude=(),
    training: bool = True,
    full_batch_size: int = 1024,
    reference_size: int | None = None,
    block: int = 250,
    jit_compile: bool = False,
    loss_scale="auto",
    metadata: dict | None = None,
):
    """Record xi_1..xi_T at fixed weights (the frozen-weights protocol).

    Holds the weights w fixed, computes grad L(w) once over the training set
    (or a seeded reference subset), draws T minibatches with ``sampler`` and
    records xi_t = g_t(w) - grad L(w) on the chosen coordinates, with the
    per-variable norms and cosines. Everything runs in training mode by
    default (as ``fit`` does, so batch normalisation uses batch statistics),
    through ``model.stateless_call``: no weight, moving statistic or other
    state of the model changes. The T minibatches run ``block`` at a time
    inside one compiled ``tf.function`` loop (no Python per step), and each
    block is appended to the file as it finishes.

    The collection protocol of the first author's later public code (fixed w,
    a shuffled drop-last cycled loader, T = 1000-3000); SGN as in Tan, Zhang &
    Liu, arXiv:2105.02062.

    Args:
        model: a built Keras model.
        loss: the training loss; ``None`` takes ``model.loss``.
        x, y: the training set (numpy arrays).
        batch_size: minibatch size b.
        num_batches: T.
        sampler: ``"without_replacement"`` (shuffled drop-last epochs, cycled)
            or ``"with_replacement"`` (independent minibatches).
        path: the HDF5 file (created or appended to).
        group: the group name; default ``"frozen/step_<optimizer step>"``.
        num_coords, seed, exclude: the coordinates (see
            :func:`select_coordinates`); ``seed`` also seeds the sampler.
        training: call the model in training mode.
        full_batch_size: chunk size of the full-gradient pass.
        reference_size: use a seeded subset of this size for grad L(w).
        block: minibatches per compiled call (and per write).
        jit_compile: compile the loop with XLA.
        loss_scale: as in :class:`GradientProbe`.
        metadata: extra file-level attributes.

    Returns:
        The recorded :class:`memsgd.recording.SeriesGroup`, read back.
    """
    _check_model(model)
    x, y = _check_data(x, y, "record_frozen")
    n = x.shape[0]
    if not isinstance(batch_size, (int, np.integer)) or not 1 <= batch_size <= n:
        raise ValueError(
            f"`batch_size` must be an integer in [1, {n}]. "
            f"Received: batch_size={batch_size!r}"
        )
    if not isinstance(num_batches, (int, np.integer)) or num_batches < 1:
        raise ValueError(
            f"`num_batches` must be an integer >= 1. Received: {num_batches!r}"
        )
    if sampler not in SAMPLERS:
        raise ValueError(
            f"`sampler` must be one of {SAMPLERS}. Received: sampler={sampler!r}"
        )
    if path is None:
        raise ValueError("`path` (the HDF5 file to write) is required.")
    recording.check_writable(path)
    loss = _graph.resolve_loss(loss, model)
    if loss_scale == "auto":
        compute = getattr(getattr(model, "dtype_policy", None), "compute_dtype", "")
        loss_scale = 2.0**12 if compute == "float16" else None
    variables = list(model.trainable_variables)
    coords = select_coordinates(variables, num_coords, seed, exclude)
    step = -1
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and getattr(optimizer, "built", False):
        step = int(optimizer.iterations.numpy())
    if group is None:
        group = f"frozen/step_{max(step, 0):07d}"

    start = time.perf_counter()
    x_ref, y_ref = x, y
    if reference_size is not None:
        if not 1 <= reference_size <= n:
            raise ValueError(
                f"`reference_size` must be in [1, {n}]. "
                f"Received: reference_size={reference_size!r}"
            )
        ref = np.sort(np.random.default_rng(seed).choice(n, reference_size, False))
        x_ref, y_ref = x[ref], y[ref]
    x_ref, y_ref = tf.constant(x_ref), tf.constant(y_ref)
    per_variable = coords.per_variable

    @tf.function(jit_compile=jit_compile, reduce_retracing=True)
    def full_pass(xr, yr):
        fg = _graph.FullGradient(
            model, loss, xr, yr, full_batch_size, training, loss_scale
        )
        grads, value = fg(variables)
        coords_of_full = _graph.gather_coords(grads, per_variable)
        return grads, _graph.squared_norms(grads), coords_of_full, value

    full, full_sq, full_c, full_loss = full_pass(x_ref, y_ref)
    del x_ref, y_ref

    @tf.function(jit_compile=jit_compile, reduce_retracing=True)
    def run(xs, ys, idx, full, full_sq):
        t = tf.shape(idx)[0]
        out_g = tf.TensorArray(tf.float32, size=t)
        out_n = tf.TensorArray(tf.float32, size=t)
        out_x = tf.TensorArray(tf.float32, size=t)
        out_c = tf.TensorArray(tf.float32, size=t)
        out_l = tf.TensorArray(tf.float32, size=t)
        for i in tf.range(t):
            xb = tf.gather(xs, idx[i])
            yb = tf.gather(ys, idx[i])
            grads, value = _batch_gradient(model, loss, xb, yb, training, loss_scale)
            parts, gnorm, xnorm, cos = _graph.noise_summaries(
                grads, full, full_sq, per_variable
            )
            out_g = out_g.write(i, tf.concat(parts, 0))
            out_n = out_n.write(i, gnorm)
            out_x = out_x.write(i, xnorm)
            out_c = out_c.write(i, cos)
            out_l = out_l.write(i, value)
        return (
            out_g.stack(),
            out_n.stack(),
            out_x.stack(),
            out_c.stack(),
            out_l.stack(),
        )

    indices, epochs = minibatch_indices(n, batch_size, num_batches, sampler, seed)
    attrs = {
        "sampler": sampler,
        "batch_size": int(batch_size),
        "num_batches": int(num_batches),
        "drop_last": True,
        "weights_step": step,
        "num_coords": len(coords),
        "coord_seed": seed,
        "sampler_seed": seed,
        "exclude": list(exclude or ()),
        "training": bool(training),
        "full_batch_size": int(full_batch_size),
        "reference_size": reference_size,
        "probe_samples": int(n if reference_size is None else reference_size),
        "loss_scale": loss_scale,
    }
    from memsgd.capture._recorder import versions

    meta = versions()
    meta.update({"model": model.name, "num_params": int(model.count_params())})
    if optimizer is not None:
        meta["optimizer_class"] = type(optimizer).__name__
    meta.update(metadata or {})
    writer = recording.RecordingWriter(
        path,
        group,
        "frozen",
        coords.to_dict(),
        layer_names=coords.names,
        layer_sizes=coords.sizes,
        attrs=attrs,
        metadata=meta,
    )
    writer.append_full(full_c.numpy(), step, float(full_loss.numpy()))
    xs, ys = tf.constant(x), tf.constant(y)
    block = max(1, int(block))
    for lo in range(0, num_batches, block):
        hi = min(num_batches, lo + block)
        xi, gnorm, xnorm, cos, value = run(
            xs, ys, tf.constant(indices[lo:hi]), full, full_sq
        )
        writer.append_rows(
            xi.numpy(),
            layers={
                "grad_norm": gnorm.numpy(),
                "sgn_norm": xnorm.numpy(),
                "cosine": cos.numpy(),
            },
            step=np.arange(lo, hi),
            epoch=epochs[lo:hi],
            lr=np.nan,
            loss=value.numpy(),
            batch_size=batch_size,
            skipped=0,
            probe_age=0,
            probe_index=0,
        )
        logger.info("record_frozen: %d/%d minibatches", hi, num_batches)
    seconds = time.perf_counter() - start
    writer.close(seconds=seconds)
    logger.info("record_frozen: %d minibatches in %.1f s", num_batches, seconds)
    return recording.read(path).groups[group]
