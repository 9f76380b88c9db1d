"""The wrapper as a Keras citizen: optimizers, fit modes, saving, mixed precision.

The main check, "transparency", needs no closed form: training with the
wrapper must give bit-for-bit (to float32 rounding) the weights that training
with the inner optimizer alone gives, and one row must be recorded per step.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from memsgd import capture, recording

N, D, K, BATCH = 48, 6, 3, 16
STEPS = N // BATCH


def _data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(N, D)).astype(np.float32), rng.integers(0, K, N)


def _model(seed=0, cls=keras.Sequential):
    keras.utils.set_random_seed(seed)
    return cls(
        [
            keras.Input((D,)),
            keras.layers.Dense(8, activation="tanh", name="h"),
            keras.layers.Dense(K, name="out"),
        ]
    )


LOSS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def _flat(model):
    return np.concatenate([v.numpy().ravel() for v in model.trainable_variables])


def _fit(
    make_opt, tmp_path, wrap, epochs=2, callbacks=(), cls=keras.Sequential, **compile_kw
):
    x, y = _data()
    model = _model(cls=cls)
    opt = make_opt()
    probe = None
    if wrap:
        probe = capture.GradientProbe(model, LOSS, x, y, batch_size=N)
        opt = capture.NoiseRecorder(
            opt, probe=probe, path=tmp_path / "r.h5", num_coords=20, flush_every=2
        )
    model.compile(opt, LOSS, **compile_kw)
    cbs = list(callbacks) + ([probe] if probe else [])
    model.fit(
        x, y, batch_size=BATCH, epochs=epochs, shuffle=False, verbose=0, callbacks=cbs
    )
    group = None
    if wrap:
        group = recording.read(tmp_path / "r.h5").groups["in_training"]
    return model, group


INNER = {
    "sgd": lambda: keras.optimizers.SGD(0.1),
    "momentum": lambda: keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True),
    "adam": lambda: keras.optimizers.Adam(0.01),
    "adamw": lambda: keras.optimizers.AdamW(0.01, weight_decay=0.1),
    "rmsprop": lambda: keras.optimizers.RMSprop(0.01),
    "schedule": lambda: keras.optimizers.SGD(
        keras.optimizers.schedules.ExponentialDecay(0.1, 1, 0.5)
    ),
    "clipnorm": lambda: keras.optimizers.SGD(0.5, clipnorm=0.05),
    "ema": lambda: keras.optimizers.SGD(0.1, use_ema=True, ema_momentum=0.5),
}


@pytest.mark.parametrize("name", sorted(INNER))
def test_wrapper_is_transparent(tmp_path, name):
    plain, _ = _fit(INNER[name], tmp_path, wrap=False)
    wrapped, group = _fit(INNER[name], tmp_path, wrap=True)
    np.testing.assert_allclose(_flat(wrapped), _flat(plain), rtol=0, atol=1e-6)
    assert group.sgn.shape == (2 * STEPS, 20)
    assert np.isfinite(group.sgn).all()
    np.testing.assert_array_equal(group.step, np.arange(2 * STEPS))
    if name == "schedule":
        # lr_k = 0.1 * 0.5**k, evaluated at the step that used it.
        np.testing.assert_allclose(group.lr, 0.1 * 0.5 ** np.arange(2 * STEPS))
    # The loss fit reports is recorded per step.
    assert np.isfinite(group.loss).all()


@pytest.mark.parametrize(
    "compile_kw",
    [
        {"jit_compile": True},
        {"jit_compile": False},
        {"steps_per_execution": 2},
        {"run_eagerly": True},
    ],
    ids=["jit", "nojit", "steps_per_execution", "eager"],
)
def test_fit_modes(tmp_path, compile_kw):
    plain, _ = _fit(INNER["momentum"], tmp_path, wrap=False, **compile_kw)
    wrapped, group = _fit(INNER["momentum"], tmp_path, wrap=True, **compile_kw)
    np.testing.assert_allclose(_flat(wrapped), _flat(plain), rtol=0, atol=1e-6)
    np.testing.assert_array_equal(group.step, np.arange(2 * STEPS))
    np.testing.assert_array_equal(group.epoch, [0] * STEPS + [1] * STEPS)


def test_learning_rate_scheduler_callback(tmp_path):
    sched = keras.callbacks.LearningRateScheduler(lambda epoch: 0.1 / (1 + epoch))
    _, group = _fit(INNER["sgd"], tmp_path, wrap=True, callbacks=[sched])
    np.testing.assert_allclose(group.lr, [0.1] * STEPS + [0.05] * STEPS, rtol=1e-6)


class CustomStepModel(keras.Sequential):
    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            loss = LOSS(y, self(x, training=True))
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        return {"loss": loss}


def test_custom_train_step(tmp_path):
    plain, _ = _fit(INNER["momentum"], tmp_path, wrap=False, cls=CustomStepModel)
    wrapped, group = _fit(INNER["momentum"], tmp_path, wrap=True, cls=CustomStepModel)
    np.testing.assert_allclose(_flat(wrapped), _flat(plain), rtol=0, atol=1e-6)
    assert group.sgn.shape[0] == 2 * STEPS
    # This train_step never calls optimizer.scale_loss: the loss is unknown.
    assert np.isnan(group.loss).all()


def test_custom_tf_function_loop(tmp_path):
    """A hand-written loop: build, apply in a tf.function, flush by hand."""
    x, y = _data()
    model = _model()
    probe = capture.GradientProbe(model, LOSS, x, y)
    opt = capture.NoiseRecorder(
        keras.optimizers.SGD(0.1), probe=probe, path=tmp_path / "r.h5", num_coords=10
    )
    opt.build(model.trainable_variables)

    @tf.function(jit_compile=True)
    def step(xb, yb):
        with tf.GradientTape() as tape:
            loss = opt.scale_loss(LOSS(yb, model(xb, training=True)))
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply(grads, model.trainable_variables)
        return loss

    losses = []
    for k in range(STEPS):
        xb, yb = x[k * BATCH : (k + 1) * BATCH], y[k * BATCH : (k + 1) * BATCH]
        before = _flat(model)
        losses.append(float(step(xb, yb)))
        assert not np.allclose(before, _flat(model))
    assert opt.flush() == STEPS
    group = recording.read(tmp_path / "r.h5").groups["in_training"]
    np.testing.assert_allclose(group.loss, losses, rtol=1e-6)
    np.testing.assert_array_equal(group.step, np.arange(STEPS))


def test_config_round_trips(tmp_path):
    opt = capture.NoiseRecorder(
        keras.optimizers.SGD(0.1, momentum=0.9),
        path=tmp_path / "r.h5",
        num_coords=7,
        seed=3,
        exclude=("bias",),
        flush_every=5,
        metadata={"dataset": "toy"},
    )
    config = opt.get_config()
    again = capture.NoiseRecorder.from_config(config)
    assert again.get_config() == config
    blob = keras.optimizers.serialize(opt)
    back = keras.optimizers.deserialize(blob)
    assert isinstance(back, capture.NoiseRecorder)
    assert back.get_config() == config
    assert isinstance(back.inner_optimizer, keras.optimizers.SGD)
    assert back.inner_optimizer.momentum == 0.9
    # Forwarding, as LossScaleOptimizer does.
    back.learning_rate = 0.25
    assert float(back.inner_optimizer.learning_rate) == 0.25


def test_save_load_continue_keeps_momentum(tmp_path):
    x, y = _data()
    model = _model()
    probe = capture.GradientProbe(model, LOSS, x, y)
    opt = capture.NoiseRecorder(
        keras.optimizers.SGD(0.1, momentum=0.9),
        probe=probe,
        path=tmp_path / "r.h5",
        num_coords=10,
    )
    model.compile(opt, LOSS)
    model.fit(
        x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0, callbacks=[probe]
    )
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert isinstance(loaded.optimizer, capture.NoiseRecorder)
    for a, b in zip(model.optimizer.variables, loaded.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert int(loaded.optimizer.iterations.numpy()) == STEPS
    # Continue both: identical weights only if momentum came back intact.
    loaded.optimizer.path = str(tmp_path / "r2.h5")
    probe2 = capture.GradientProbe(loaded, LOSS, x, y)
    model.fit(
        x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0, callbacks=[probe]
    )
    loaded.fit(
        x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0, callbacks=[probe2]
    )
    np.testing.assert_allclose(_flat(loaded), _flat(model), rtol=0, atol=1e-6)
    group = recording.read(tmp_path / "r2.h5").groups["in_training"]
    np.testing.assert_array_equal(group.step, np.arange(STEPS, 2 * STEPS))


def test_mixed_float16_counts_skipped_steps(tmp_path):
    x, y = _data()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        model = _model()
        probe = capture.GradientProbe(model, LOSS, x, y)
        inner = capture.NoiseRecorder(
            keras.optimizers.SGD(0.1), path=tmp_path / "r.h5", num_coords=10
        )
        # A huge initial scale overflows float16 on the first steps: the
        # loss-scale optimizer skips them, halving the scale each time.
        opt = keras.optimizers.LossScaleOptimizer(inner, initial_scale=2.0**40)
        model.compile(opt, LOSS)
        model.fit(
            x, y, batch_size=4, epochs=2, shuffle=False, verbose=0, callbacks=[probe]
        )
    finally:
        keras.config.set_dtype_policy("float32")
    group = recording.read(tmp_path / "r.h5").groups["in_training"]
    total = 2 * N // 4
    assert len(group.skipped_steps) > 0
    assert len(group.skipped_steps) + len(group.step) == total
    np.testing.assert_array_equal(
        np.sort(np.concatenate([group.step, group.skipped_steps])), np.arange(total)
    )
    assert np.isfinite(group.sgn).all()
    assert group.attrs["skipped_steps"] == len(group.skipped_steps)
    assert group.attrs["loss_scaled"] is True
    applied = int(inner.iterations.numpy())
    assert applied == len(group.step)


def test_compile_wraps_recorder_under_mixed_precision(tmp_path):
    x, y = _data()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        model = _model()
        probe = capture.GradientProbe(model, LOSS, x, y)
        opt = capture.NoiseRecorder(
            keras.optimizers.SGD(0.1),
            probe=probe,
            path=tmp_path / "r.h5",
            num_coords=10,
        )
        model.compile(opt, LOSS)
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
        model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, callbacks=[probe])
    finally:
        keras.config.set_dtype_policy("float32")
    group = recording.read(tmp_path / "r.h5").groups["in_training"]
    assert group.sgn.shape == (STEPS, 10) and np.isfinite(group.sgn).all()
    assert np.isfinite(group.loss).all()


def test_probe_leaves_batch_norm_and_dropout_state_alone(tmp_path):
    """With every=1 the probe runs the model in training mode each step; the
    moving statistics and the dropout seed must still follow plain training."""
    x, y = _data()

    def run(wrap):
        keras.utils.set_random_seed(0)
        model = keras.Sequential(
            [
                keras.Input((D,)),
                keras.layers.Dense(8, name="h"),
                keras.layers.BatchNormalization(name="bn"),
                keras.layers.Dropout(0.3, seed=1),
                keras.layers.Dense(K, name="out"),
            ]
        )
        opt = keras.optimizers.SGD(0.1, momentum=0.9)
        callbacks = []
        if wrap:
            probe = capture.GradientProbe(model, LOSS, x, y, batch_size=BATCH)
            opt = capture.NoiseRecorder(
                opt, probe=probe, path=tmp_path / "bn.h5", num_coords=20
            )
            callbacks = [probe]
        model.compile(opt, LOSS)
        model.fit(
            x,
            y,
            batch_size=BATCH,
            epochs=2,
            shuffle=False,
            verbose=0,
            callbacks=callbacks,
        )
        return [np.asarray(v) for v in model.variables]

    for a, b in zip(run(False), run(True)):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)
    group = recording.read(tmp_path / "bn.h5").groups["in_training"]
    assert np.isfinite(group.sgn).all() and group.sgn.shape[0] == 2 * STEPS
