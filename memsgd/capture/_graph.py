"""In-graph pieces shared by the in-training and frozen-weights protocols.

Everything here runs inside ``tf.function`` (also with ``jit_compile=True``):
static shapes, ``tf.while_loop`` over chunks, no Python callbacks.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf


def per_sample_loss(loss, y_true, y_pred):
    """Unreduced loss, averaged over all but the batch axis: shape (n,)."""
    y_pred = tf.cast(y_pred, "float32")
    if isinstance(loss, keras.losses.Loss):
        values = loss.call(y_true, y_pred)
    else:
        values = loss(y_true, y_pred)
    values = tf.cast(values, "float32")
    if values.shape.rank is not None and values.shape.rank > 1:
        values = tf.reduce_mean(values, axis=list(range(1, values.shape.rank)))
    return values


def resolve_loss(loss, model=None):
    """A loss object or function from ``loss``, or the model's compiled loss."""
    if loss is None and model is not None:
        loss = getattr(model, "loss", None)
    if loss is None:
        raise ValueError(
            "`loss` is required: pass the loss the model is trained with "
            "(a keras.losses.Loss, a loss function, or its name)."
        )
    if isinstance(loss, (dict, list, tuple)):
        raise NotImplementedError(
            "memsgd records models with a single loss; multi-output losses "
            f"are not supported. Received: loss={loss!r}"
        )
    if isinstance(loss, str):
        loss = keras.losses.get(loss)
    if not callable(loss):
        raise ValueError(f"`loss` must be callable. Received: loss={loss!r}")
    return loss


def as_tensor(v):
    """The current value of a Keras or TF variable as a tensor."""
    value = getattr(v, "value", v)
    return tf.identity(value() if callable(value) else value)


def flatten_grads(grads, variables):
    """Dense float32 gradients; ``None`` becomes zeros."""
    out = []
    for g, v in zip(grads, variables):
        if g is None:
            out.append(tf.zeros(tuple(v.shape), "float32"))
        else:
            out.append(tf.cast(tf.convert_to_tensor(g), "float32"))
    return out


def gather_coords(grads, per_variable):
    """Concatenate ``g_v.flat[idx_v]`` over variables: shape (C,)."""
    parts = []
    for g, idx in zip(grads, per_variable):
        if len(idx):
            parts.append(tf.gather(tf.reshape(g, [-1]), tf.constant(idx)))
    return tf.concat(parts, axis=0)


def random_directions(variables, m: int, seed: int):
    """M random unit directions over all parameters, one block per variable.

    Gaussian, normalised over the whole concatenated vector, drawn with
    ``numpy.random.default_rng(seed + 1)``; returned as float32 arrays of
    shape (M, size_v), or ``None`` when M is 0.
    """
    if not m:
        return None
    rng = np.random.default_rng(seed + 1)
    blocks = [
        rng.standard_normal((m, int(np.prod(tuple(v.shape), dtype=np.int64))))
        for v in variables
    ]
    norm = np.sqrt(sum((b * b).sum(axis=1) for b in blocks))[:, None]
    return [(b / norm).astype(np.float32) for b in blocks]


def project(grads, directions):
    """(M,): <g, r_j> summed over the variables."""
    return tf.add_n(
        [tf.linalg.matvec(r, tf.reshape(g, [-1])) for g, r in zip(grads, directions)]
    )


def squared_norms(full):
    """(L,): ||G_v||^2 per variable (flat, summed as :func:`noise_summaries`)."""
    flat = [tf.reshape(f, [-1]) for f in full]
    return tf.stack([tf.reduce_sum(f * f) for f in flat])


def noise_summaries(grads, full, full_sq, per_variable):
    """One step's xi on the coordinates and per-variable summaries.

    xi = g - G is formed once per variable and both gathered (the recorded
    coordinates) and reduced: ||g||, the exact two-pass ||g - G|| and
    cos(g, G). ||G_v||^2 (``full_sq``, from :func:`squared_norms`) changes
    only with G, so it is computed once per full gradient, not per step: on
    CPU the training step pays for every small op.

    Returns:
        (the gathered parts of xi, one per variable with coordinates, to be
        concatenated; ||g|| (L,); ||g - G|| (L,); cos(g, G) (L,), NaN where
        a norm is 0).
    """
    parts, gg, gf, dd = [], [], [], []
    for g, f, idx in zip(grads, full, per_variable):
        # Flat, as squared_norms: XLA sums a 2-D tensor in another order.
        g, f = tf.reshape(g, [-1]), tf.reshape(f, [-1])
        d = g - f
        if len(idx):
            parts.append(tf.gather(d, tf.constant(idx)))
        gg.append(tf.reduce_sum(g * g))
        gf.append(tf.reduce_sum(g * f))
        dd.append(tf.reduce_sum(d * d))
    gg, gf = tf.stack(gg), tf.stack(gf)
    denom = tf.sqrt(gg * full_sq)
    cos = tf.where(denom > 0, gf / denom, tf.constant(np.nan, "float32"))
    return parts, tf.sqrt(gg), tf.sqrt(tf.stack(dd)), cos


@tf.autograph.experimental.do_not_convert
def model_gradient(
    model, loss, x, y, training, loss_scale, denominator, reg_weight=1.0
):
    """Gradient of sum_i l_i / denominator + reg_weight * R at the weights.

    Returns (grads in ``model.trainable_variables`` order, that value). A
    model with non-trainable state (batch-norm statistics, dropout seeds)
    is called through ``stateless_call``, so that state is left unchanged;
    a model without any is called directly, which is faster.
    """
    stateless = bool(model.non_trainable_variables)
    if stateless:
        tv = [as_tensor(v) for v in model.trainable_variables]
        ntv = [as_tensor(v) for v in model.non_trainable_variables]
    with tf.GradientTape() as tape:
        if stateless:
            tape.watch(tv)
            pred, _, losses = model.stateless_call(
                tv, ntv, x, training=training, return_losses=True
            )
        else:
            pred = model(x, training=training)
            losses = model.losses
        value = tf.reduce_sum(per_sample_loss(loss, y, pred)) / tf.cast(
            denominator, "float32"
        )
        if losses:
            value += reg_weight * tf.add_n([tf.cast(r, "float32") for r in losses])
        scaled = value * loss_scale if loss_scale else value
    target = tv if stateless else model.trainable_variables
    grads = flatten_grads(tape.gradient(scaled, target), model.trainable_variables)
    if loss_scale:
        grads = [g / loss_scale for g in grads]
    return grads, value


class FullGradient:
    """The full-batch gradient of a model at its current weights, in-graph.

    grad L(w) = (1/N) sum_i grad l_i(w) + grad R(w), computed over chunks of
    ``batch_size`` samples with ``model.stateless_call`` so that batch
    normalisation runs in the requested mode without its moving statistics
    (or any other state) being changed. Regularisation losses of each chunk
    are weighted by the chunk's share of N, so weight penalties count once.

    With ``subset=M`` each call takes the gradient over M distinct samples
    drawn afresh (uniformly, without replacement) for that call, keyed by
    ``seed`` and the call's ``draw`` number: an unbiased estimate of grad L
    whose error is independent from one call to the next.

    Under a ``tf.distribute`` strategy with R replicas each replica takes
    every R-th chunk and the results are summed across replicas (all
    replicas draw the same subset).
    """

    def __init__(
        self,
        model,
        loss,
        x,
        y,
        batch_size: int,
        training: bool = True,
        loss_scale: float | None = None,
        subset: int | None = None,
        seed: int = 0,
    ):
        self.model = model
        self.loss = loss
        self.x = x
        self.y = y
        self.population = int(x.shape[0])
        self.subset = None if subset is None or subset >= self.population else subset
        self.seed = int(seed)
        self.n = self.population if self.subset is None else int(self.subset)
        self.batch_size = int(min(batch_size, self.n))
        self.training = training
        self.loss_scale = loss_scale

    def _draw(self, draw):
        """M distinct sample indices, the same on every replica for one draw."""
        seed = tf.stack([tf.constant(self.seed, tf.int64), tf.cast(draw, tf.int64)])
        keys = tf.random.stateless_uniform([self.population], seed=seed, alg="philox")
        return tf.math.top_k(keys, k=self.n, sorted=False).indices

    def _chunk(self, start, size, variables, order, index=None):
        idx = start + tf.range(size)
        if index is not None:
            idx = tf.gather(index, idx)
        grads, total = model_gradient(
            self.model,
            self.loss,
            tf.gather(self.x, idx),
            tf.gather(self.y, idx),
            self.training,
            self.loss_scale,
            denominator=self.n,
            reg_weight=size / self.n,
        )
        return [grads[i] for i in order], total

    @tf.autograph.experimental.do_not_convert
    def __call__(self, variables, shard: bool = True, draw=0):
        """Returns ([grad per variable in ``variables``], full loss).

        ``shard=False`` makes every replica compute the whole gradient, with
        no collective: needed where the call sits inside a ``tf.cond``.
        ``draw`` (an integer, e.g. the step) keys the subset when ``subset``
        is set; calls with the same draw use the same samples.
        """
        trainable = self.model.trainable_variables
        ids = {id(v): i for i, v in enumerate(trainable)}
        try:
            order = [ids[id(v)] for v in variables]
        except KeyError:
            raise ValueError(
                "The optimizer's variables are not the model's trainable "
                "variables; the probe must use the model being trained."
            ) from None
        ctx = tf.distribute.get_replica_context()
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        if shard and ctx is not None and replicas > 1:
            first = tf.cast(ctx.replica_id_in_sync_group, "int32")
        else:
            first, replicas = tf.constant(0, "int32"), 1
        b = self.batch_size
        n_full, rem = divmod(self.n, b)
        zeros = [tf.zeros(tuple(v.shape), "float32") for v in variables]
        index = None if self.subset is None else self._draw(draw)

        def body(i, acc, loss):
            grads, value = self._chunk(i * b, b, variables, order, index)
            return i + replicas, [a + g for a, g in zip(acc, grads)], loss + value

        _, acc, loss = tf.while_loop(
            lambda i, *_: i < n_full,
            body,
            (first, zeros, tf.constant(0.0)),
        )
        if rem:

            def tail():
                grads, value = self._chunk(n_full * b, rem, variables, order, index)
                return [a + g for a, g in zip(acc, grads)], loss + value

            if replicas > 1:
                acc, loss = tf.cond(tf.equal(first, 0), tail, lambda: (list(acc), loss))
            else:
                acc, loss = tail()
        if replicas > 1:
            acc, loss = ctx.all_reduce(tf.distribute.ReduceOp.SUM, (acc, loss))
        return list(acc), loss
