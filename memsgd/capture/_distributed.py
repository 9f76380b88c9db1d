"""A small training loop for tf.distribute strategies that ``fit`` cannot run.

Keras 3's ``fit`` does not run under ``MultiWorkerMirroredStrategy``
(keras-team/keras#20585: "Attempt to convert a value (PerReplica...)"), while
a custom ``strategy.run`` loop with a Keras 3 optimizer does. This module is
that loop, with the same :class:`NoiseRecorder` and :class:`GradientProbe`:

    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    with strategy.scope():
        model = build_model()
        probe = GradientProbe(model, loss, x, y)
        opt = NoiseRecorder(keras.optimizers.SGD(0.1), probe=probe,
                            path="run.h5")
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(...).batch(
        global_batch_size)
    train(model, loss, opt, dataset, epochs=5, strategy=strategy)

Every worker runs the same script; only the chief (or worker 0 when there
is no chief) writes the file. The recorded gradient is the global-batch one.
"""

from __future__ import annotations

import logging

import tensorflow as tf

from memsgd.capture import _graph
from memsgd.capture._recorder import find_recorder

logger = logging.getLogger(__name__)


def make_train_step(model, loss, optimizer, strategy=None, jit_compile=False):
    """A compiled step ``step(distributed_batch) -> mean loss`` for ``strategy``.

    Each replica computes its share of the global-batch mean loss
    (``tf.nn.compute_average_loss`` plus the scaled regularisation losses),
    passes it through ``optimizer.scale_loss`` (so a recorder sees it) and
    calls ``optimizer.apply``, which all-reduces the gradients.
    """
    strategy = strategy or tf.distribute.get_strategy()
    loss = _graph.resolve_loss(loss, model)
    variables = model.trainable_variables

    def replica_step(x, y):
        with tf.GradientTape() as tape:
            pred = model(x, training=True)
            value = tf.nn.compute_average_loss(_graph.per_sample_loss(loss, y, pred))
            if model.losses:
                value += tf.nn.scale_regularization_loss(tf.add_n(model.losses))
            scaled = optimizer.scale_loss(value)
        grads = tape.gradient(scaled, variables)
        optimizer.apply(grads, variables)
        return value

    @tf.function(jit_compile=jit_compile)
    def step(batch):
        x, y = batch
        per_replica = strategy.run(replica_step, args=(x, y))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

    return step


def train(
    model,
    loss,
    optimizer,
    dataset,
    epochs: int = 1,
    strategy=None,
    steps_per_epoch: int | None = None,
    jit_compile: bool = False,
):
    """Train with a custom ``strategy.run`` loop, recording as ``fit`` would.

    Args:
        model, loss: the model (created in ``strategy.scope()``) and its loss.
        optimizer: a :class:`NoiseRecorder` (or any Keras optimizer), created
            in ``strategy.scope()``.
        dataset: a ``tf.data.Dataset`` of (x, y) global batches, or a
            distributed dataset (``strategy.distribute_datasets_from_function``).
        epochs: passes over ``dataset``.
        strategy: default: the current strategy.
        steps_per_epoch: stop each epoch after this many steps.
        jit_compile: compile the step with XLA.

    Returns:
        The list of mean training losses, one per epoch.
    """
    strategy = strategy or tf.distribute.get_strategy()
    if isinstance(dataset, tf.data.Dataset):
        dataset = strategy.experimental_distribute_dataset(dataset)
    with strategy.scope():
        optimizer.build(model.trainable_variables)
    step = make_train_step(model, loss, optimizer, strategy, jit_compile)
    recorder = find_recorder(optimizer)
    if recorder is not None:
        recorder.attach(model)
    history = []
    for epoch in range(epochs):
        if recorder is not None:
            recorder.epoch = epoch
        total, count = 0.0, 0
        for batch in dataset:
            total += float(step(batch))
            count += 1
            if recorder is not None and count % recorder.flush_every == 0:
                recorder.flush()
            if steps_per_epoch is not None and count >= steps_per_epoch:
                break
        if recorder is not None:
            recorder.flush()
        history.append(total / max(count, 1))
        logger.info("epoch %d: loss %.4f", epoch, history[-1])
    return history
