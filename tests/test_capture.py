"""Correctness of the recorded SGN against values from outside the code.

Expected values come from closed forms: for least squares with the mean
squared error L(w) = (1/n) ||Xw - y||^2 (Keras' "mse", one output, bias as a
column of ones) the gradient over any set B of rows is 2 X_B^T (X_B w - y_B)/|B|
(the issue's X^T(Xw - y)/n up to the factor 2 of the MSE convention), and the
weights follow Keras' SGD recursion v <- m v - lr g, w <- w + v.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from memsgd import capture, recording

N, D, B = 64, 5, 16


def _data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N, D)).astype(np.float32)
    w = rng.normal(size=(D, 1))
    y = (x @ w + 0.3 * rng.normal(size=(N, 1))).astype(np.float32)
    return x, y


def _linear(seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((D,)), keras.layers.Dense(1)])


def _flat(model):
    return np.concatenate([v.numpy().ravel() for v in model.trainable_variables])


def _ls_grad(xa, y, w):
    return 2.0 * xa.T @ (xa @ w - y[:, 0]) / len(xa)


def _fit_linear(tmp_path, momentum, jit, every=1, epochs=2, **fit_kw):
    x, y = _data()
    model = _linear()
    probe = capture.GradientProbe(model, "mse", x, y, every=every, batch_size=24)
    opt = capture.NoiseRecorder(
        keras.optimizers.SGD(0.05, momentum=momentum),
        probe=probe,
        path=tmp_path / "run.h5",
        num_coords=None,
        flush_every=3,
    )
    model.compile(opt, "mse", jit_compile=jit, **fit_kw)
    w0 = _flat(model)
    model.fit(
        x, y, batch_size=B, epochs=epochs, shuffle=False, verbose=0, callbacks=[probe]
    )
    group = recording.read(tmp_path / "run.h5").groups["in_training"]
    return x, y, w0, model, group


def _replay(x, y, w0, momentum, steps, every=1):
    """Closed-form minibatch and full gradients along Keras' SGD path."""
    xa = np.hstack([x, np.ones((N, 1), np.float32)]).astype(np.float64)
    w, v = w0.astype(np.float64), np.zeros_like(w0, np.float64)
    per_epoch = N // B
    g_all, full_all = [], []
    full = None
    for k in range(steps):
        s = (k % per_epoch) * B
        g = _ls_grad(xa[s : s + B], y[s : s + B], w)
        if k % every == 0:
            full = _ls_grad(xa, y, w)
        g_all.append(g)
        full_all.append(full)
        v = momentum * v - 0.05 * g
        w = w + v
    return np.array(g_all), np.array(full_all), w


@pytest.mark.parametrize(
    "momentum, jit", [(0.0, False), (0.9, False), (0.9, True)], ids=str
)
def test_least_squares_closed_form_every_step(tmp_path, momentum, jit):
    x, y, w0, model, group = _fit_linear(tmp_path, momentum, jit)
    g, full, w_end = _replay(x, y, w0, momentum, steps=8)
    assert group.sgn.shape == (8, D + 1)
    # float32 arithmetic over 16-64 rows: relative error ~1e-6.
    scale = np.abs(g - full).max()
    np.testing.assert_allclose(group.sgn, g - full, rtol=0, atol=2e-5 * scale)
    np.testing.assert_allclose(group.grad, g, rtol=0, atol=2e-5 * np.abs(g).max())
    np.testing.assert_allclose(_flat(model), w_end, rtol=0, atol=1e-5)
    np.testing.assert_array_equal(group.step, np.arange(8))
    np.testing.assert_array_equal(group.epoch, [0] * 4 + [1] * 4)
    np.testing.assert_array_equal(group.probe_age, 0)
    np.testing.assert_array_equal(group.batch_size, B)
    np.testing.assert_allclose(group.lr, 0.05)
    # Per-variable summaries: kernel (5) then bias (1).
    kern = np.linalg.norm(g[:, :D], axis=1)
    np.testing.assert_allclose(group.layers["grad_norm"][:, 0], kern, rtol=1e-5)
    xi_bias = np.abs(g[:, D] - full[:, D])
    np.testing.assert_allclose(
        group.layers["sgn_norm"][:, 1], xi_bias, rtol=1e-4, atol=1e-6
    )
    cos = np.sum(g[:, :D] * full[:, :D], 1) / (
        np.linalg.norm(g[:, :D], axis=1) * np.linalg.norm(full[:, :D], axis=1)
    )
    np.testing.assert_allclose(group.layers["cosine"][:, 0], cos, atol=1e-5)
    # The minibatch loss is fit's: mean squared residual of the batch.
    assert np.isfinite(group.loss).all()


def test_probe_every_k_steps_keeps_the_age(tmp_path):
    x, y, w0, _model, group = _fit_linear(
        tmp_path, 0.9, False, every=3, steps_per_execution=2
    )
    g, full, _ = _replay(x, y, w0, 0.9, steps=8, every=3)
    np.testing.assert_array_equal(group.probe_age, [0, 1, 2] * 2 + [0, 1])
    np.testing.assert_array_equal(group.full_step, [0, 3, 6])
    np.testing.assert_array_equal(group.probe_index, [0, 0, 0, 1, 1, 1, 2, 2])
    scale = np.abs(g - full).max()
    np.testing.assert_allclose(group.sgn, g - full, rtol=0, atol=2e-5 * scale)
    np.testing.assert_allclose(group.full_grad, full[[0, 3, 6]], atol=2e-5 * scale)


def test_recorded_gradient_is_what_the_inner_sgd_received(tmp_path):
    """Plain SGD: w_{k+1} - w_k = -lr g_k, on every recorded coordinate."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(96, 8)).astype(np.float32)
    y = rng.integers(0, 3, 96)
    keras.utils.set_random_seed(1)
    model = keras.Sequential(
        [
            keras.Input((8,)),
            keras.layers.Dense(16, activation="tanh"),
            keras.layers.Dense(3),
        ]
    )
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    probe = capture.GradientProbe(model, loss, x, y, batch_size=40)
    opt = capture.NoiseRecorder(
        keras.optimizers.SGD(0.1), probe=probe, path=tmp_path / "r.h5", num_coords=50
    )
    model.compile(opt, loss)
    weights = [_flat(model)]

    class Snap(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            weights.append(_flat(self.model))

    model.fit(x, y, batch_size=32, epochs=1, verbose=0, callbacks=[probe, Snap()])
    group = recording.read(tmp_path / "r.h5").groups["in_training"]
    sizes = [v.numpy().size for v in model.trainable_variables]
    offset = np.concatenate([[0], np.cumsum(sizes)])[group.coords["variable_index"]]
    where = offset + group.coords["flat_index"]
    dw = np.diff(np.array(weights), axis=0)[:, where]
    np.testing.assert_allclose(group.grad, -dw / 0.1, rtol=1e-3, atol=1e-5)
    assert len(set(group.coords["layer"])) == 2  # every layer represented


def test_frozen_least_squares_and_zero_mean_over_one_epoch(tmp_path):
    x, y = _data()
    model = _linear()
    w = _flat(model).astype(np.float64)
    group = capture.record_frozen(
        model,
        "mse",
        x,
        y,
        batch_size=B,
        num_batches=8,
        sampler="without_replacement",
        path=tmp_path / "f.h5",
        group="frozen/a",
        num_coords=None,
        block=3,
    )
    assert group.protocol == "frozen"
    assert group.attrs["sampler"] == "without_replacement"
    idx, epoch = capture.minibatch_indices(N, B, 8, "without_replacement", 0)
    np.testing.assert_array_equal(group.epoch, epoch)
    xa = np.hstack([x, np.ones((N, 1), np.float32)]).astype(np.float64)
    full = _ls_grad(xa, y, w)
    expect = np.array([_ls_grad(xa[i], y[i], w) for i in idx]) - full
    scale = np.abs(expect).max()
    np.testing.assert_allclose(group.sgn, expect, rtol=0, atol=2e-5 * scale)
    # One epoch of equal batches covering the set once: the mean of xi is 0.
    for e in (0, 1):
        mean = group.sgn[group.epoch == e].mean(axis=0)
        np.testing.assert_allclose(mean, 0.0, atol=1e-5 * scale)
    np.testing.assert_allclose(_flat(model), w, rtol=0, atol=0)  # weights untouched


def test_minibatch_samplers():
    idx, epoch = capture.minibatch_indices(10, 3, 7, "without_replacement", 0)
    assert idx.shape == (7, 3)
    # Drop-last: 3 batches per epoch, each sample at most once per epoch.
    np.testing.assert_array_equal(epoch, [0, 0, 0, 1, 1, 1, 2])
    for e in (0, 1):
        flat = idx[epoch == e].ravel()
        assert len(set(flat)) == 9
    idx, _ = capture.minibatch_indices(10, 3, 50, "with_replacement", 0)
    assert all(len(set(row)) == 3 for row in idx)
    with pytest.raises(ValueError, match="sampler"):
        capture.minibatch_indices(10, 3, 5, "other")


def test_coordinates_are_stratified_seeded_and_excludable():
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(50, name="a"),
            keras.layers.BatchNormalization(name="bn"),
            keras.layers.Dense(2, name="b"),
        ]
    )
    tv = model.trainable_variables
    c1 = capture.select_coordinates(tv, 40, seed=1)
    c2 = capture.select_coordinates(tv, 40, seed=1)
    np.testing.assert_array_equal(c1.flat_index, c2.flat_index)
    assert len(c1) == 40 and set(c1.variable_index) == set(range(len(tv)))
    c3 = capture.select_coordinates(tv, 40, seed=1, exclude=("bias", "norm"))
    kept = {v.rsplit("/", 2)[-2] + "/" + v.rsplit("/", 1)[-1] for v in c3.variable}
    assert kept == {"a/kernel", "b/kernel"}
    assert len(c3) == 40
    # One each, the other 38 split 299:99 by largest remainder -> 29 + 1.
    assert np.char.endswith(c3.variable.astype(str), "a/kernel").sum() == 30
    with pytest.raises(ValueError, match="at most the number"):
        capture.select_coordinates(tv, 10_000)
    with pytest.raises(ValueError, match="exclude"):
        capture.select_coordinates(tv, 10, exclude=("weights",))


def test_random_projections_of_the_whole_gradient(tmp_path):
    x, y = _data()
    model = _linear()
    probe = capture.GradientProbe(model, "mse", x, y)
    opt = capture.NoiseRecorder(
        keras.optimizers.SGD(0.05),
        probe=probe,
        path=tmp_path / "p.h5",
        num_coords=None,
        num_projections=3,
        seed=4,
    )
    model.compile(opt, "mse")
    model.fit(x, y, batch_size=B, epochs=1, shuffle=False, verbose=0, callbacks=[probe])
    group = recording.read(tmp_path / "p.h5").groups["in_training"]
    # All coordinates are recorded, so <g, r_j> can be checked directly.
    r = np.concatenate(
        capture._graph.random_directions(model.trainable_variables, 3, 4), axis=1
    )
    np.testing.assert_allclose(np.linalg.norm(r, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(group.projections, group.grad @ r.T, atol=1e-5)
    np.testing.assert_allclose(group.full_projections, group.full_grad @ r.T, atol=1e-5)


def test_interrupted_run_keeps_what_was_flushed(tmp_path):
    x, y = _data()
    model = _linear()
    probe = capture.GradientProbe(model, "mse", x, y)
    opt = capture.NoiseRecorder(
        keras.optimizers.SGD(0.05),
        probe=probe,
        path=tmp_path / "i.h5",
        num_coords=None,
        flush_every=3,
    )
    model.compile(opt, "mse")

    class Crash(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 6:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        model.fit(
            x,
            y,
            batch_size=4,
            epochs=1,
            shuffle=False,
            verbose=0,
            callbacks=[probe, Crash()],
        )
    # Flushed after steps 3 and 6; step 7 was lost with the process.
    group = recording.read(tmp_path / "i.h5").groups["in_training"]
    np.testing.assert_array_equal(group.step, np.arange(6))
    assert np.isfinite(group.sgn).all()


def test_terminate_on_nan_still_writes_everything(tmp_path):
    x, y = _data()
    model = _linear()
    probe = capture.GradientProbe(model, "mse", x, y)
    opt = capture.NoiseRecorder(
        keras.optimizers.SGD(10.0),
        probe=probe,
        path=tmp_path / "n.h5",
        num_coords=None,
        flush_every=100,
    )
    model.compile(opt, "mse")
    history = model.fit(
        x,
        y,
        batch_size=4,
        epochs=20,
        shuffle=False,
        verbose=0,
        callbacks=[probe, keras.callbacks.TerminateOnNaN()],
    )
    steps = int(opt.iterations.numpy())
    assert steps < 20 * N // 4  # stopped early
    group = recording.read(tmp_path / "n.h5").groups["in_training"]
    assert len(group.step) == steps and group.attrs["complete"] is True
    assert not np.isfinite(history.history["loss"][-1])


def _per_sample_ls_grads(x, y, w):
    xa = np.hstack([x, np.ones((len(x), 1), np.float32)]).astype(np.float64)
    return 2.0 * xa * (xa @ w - y[:, 0])[:, None]


@pytest.mark.parametrize("jit", [False, True], ids=["eager_graph", "xla"])
def test_resampled_reference_is_a_fresh_unbiased_subset_each_step(tmp_path, jit):
    """lr = 0 holds w fixed, so every probe estimates the same grad L(w).

    Expected values: each probe is the closed-form mean of the per-sample
    least-squares gradients over the M samples drawn for that step; over
    many steps the mean is grad L(w) and the variance is the finite-
    population variance S^2/M (1 - M/N) of a mean of M draws without
    replacement (Cochran 1977, "Sampling Techniques", eq. 2.8).
    """
    x, y = _data()
    model = _linear()
    m, steps = 16, 200
    probe = capture.GradientProbe(
        model, "mse", x, y, every=1, batch_size=12, reference_size=m, seed=5
    )
    opt = capture.NoiseRecorder(
        keras.optimizers.SGD(0.0),
        probe=probe,
        path=tmp_path / "r.h5",
        num_coords=None,
    )
    model.compile(opt, "mse", jit_compile=jit)
    w = _flat(model).astype(np.float64)
    model.fit(
        x, y, batch_size=B, epochs=steps // (N // B), verbose=0, callbacks=[probe]
    )
    group = recording.read(tmp_path / "r.h5").groups["in_training"]
    assert group.attrs["reference_sampling"] == "resampled"
    assert group.attrs["probe_samples"] == m
    per_sample = _per_sample_ls_grads(x, y, w)
    full = per_sample.mean(axis=0)
    ref = group.full_grad.astype(np.float64)
    assert ref.shape == (steps, D + 1)
    scale = np.abs(per_sample).max()
    # XLA's random kernels differ from TF's: replay the draw as fit ran it.
    draw = tf.function(probe._full._draw, jit_compile=jit)
    for k in (0, 1, 57, steps - 1):
        idx = draw(tf.constant(k, tf.int64)).numpy()
        assert len(set(idx.tolist())) == m and idx.min() >= 0 and idx.max() < N
        np.testing.assert_allclose(ref[k], per_sample[idx].mean(0), atol=2e-6 * scale)
    # Fresh subsets: no two consecutive probes are the same.
    assert np.all(np.abs(np.diff(ref, axis=0)).max(axis=1) > 0)
    var = per_sample.var(axis=0, ddof=1) / m * (1 - m / N)
    # 4 standard errors per coordinate (6 coordinates: false failure ~4e-4).
    np.testing.assert_array_less(np.abs(ref.mean(0) - full), 4 * np.sqrt(var / steps))
    # Sample variance over 200 draws: relative SD sqrt(2/199) = 0.10.
    np.testing.assert_allclose(ref.var(axis=0, ddof=1), var, rtol=0.4)
    err = ref - full
    lag1 = (err[1:] * err[:-1]).mean(0) / (err * err).mean(0)
    np.testing.assert_array_less(np.abs(lag1), 4 / np.sqrt(steps))


def test_fixed_reference_is_one_subset_for_every_step(tmp_path):
    """The negative control: a fixed subset has no spread and a fixed bias."""
    x, y = _data()
    model = _linear()
    probe = capture.GradientProbe(
        model, "mse", x, y, reference_size=16, reference_sampling="fixed", seed=5
    )
    opt = capture.NoiseRecorder(
        keras.optimizers.SGD(0.0), probe=probe, path=tmp_path / "r.h5", num_coords=None
    )
    model.compile(opt, "mse")
    w = _flat(model).astype(np.float64)
    model.fit(x, y, batch_size=B, epochs=3, verbose=0, callbacks=[probe])
    group = recording.read(tmp_path / "r.h5").groups["in_training"]
    assert group.attrs["reference_sampling"] == "fixed"
    ref = group.full_grad.astype(np.float64)
    np.testing.assert_allclose(ref, np.broadcast_to(ref[0], ref.shape), atol=1e-6)
    idx = np.sort(np.random.default_rng(5).choice(N, 16, replace=False))
    expect = _per_sample_ls_grads(x, y, w)[idx].mean(0)
    np.testing.assert_allclose(ref[0], expect, atol=2e-6 * np.abs(expect).max())
