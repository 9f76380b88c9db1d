"""Wrong use of the capture API fails early with a message that says why."""

import keras
import numpy as np
import pytest

from memsgd import capture

LOSS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def _model():
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])


def _data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(20, 4)).astype(np.float32), rng.integers(0, 3, 20)


def test_wrapping_a_non_optimizer(tmp_path):
    with pytest.raises(TypeError, match=r"must be a keras\.optimizers\.Optimizer"):
        capture.NoiseRecorder("sgd", path=tmp_path / "r.h5")
    with pytest.raises(ValueError, match="does not take `clipnorm`"):
        capture.NoiseRecorder(
            keras.optimizers.SGD(), path=tmp_path / "r.h5", clipnorm=1.0
        )
    with pytest.raises(ValueError, match="`path`"):
        capture.NoiseRecorder(keras.optimizers.SGD())


def test_unbuilt_model_without_trainable_variables(tmp_path):
    x, y = _data()
    unbuilt = keras.Sequential([keras.layers.Dense(3)])
    with pytest.raises(ValueError, match="no trainable variables"):
        capture.GradientProbe(unbuilt, LOSS, x, y)
    with pytest.raises(ValueError, match="no trainable variables"):
        capture.record_frozen(unbuilt, LOSS, x, y, path=tmp_path / "f.h5")
    with pytest.raises(ValueError, match="no trainable variables"):
        capture.select_coordinates([], 10)


def test_more_coordinates_than_the_model_has(tmp_path):
    x, y = _data()
    model = _model()  # 15 parameters
    with pytest.raises(ValueError, match="at most the number of eligible"):
        capture.record_frozen(
            model, LOSS, x, y, batch_size=5, path=tmp_path / "f.h5", num_coords=16
        )
    opt = capture.NoiseRecorder(
        keras.optimizers.SGD(), path=tmp_path / "r.h5", num_coords=16
    )
    with pytest.raises(ValueError, match=r"at most .* 15\. Received: num_coords=16"):
        opt.build(model.trainable_variables)


@pytest.mark.parametrize("where", ["/proc/memsgd.h5", "missing-dir/r.h5", "dir"])
def test_unwritable_output_path(tmp_path, where):
    path = tmp_path / where if not where.startswith("/") else where
    if where == "dir":
        path.mkdir()
    x, y = _data()
    with pytest.raises((PermissionError, ValueError), match=r"recording|folder|path"):
        capture.NoiseRecorder(keras.optimizers.SGD(), path=path)
    with pytest.raises((PermissionError, ValueError), match=r"recording|folder|path"):
        capture.record_frozen(_model(), LOSS, x, y, batch_size=5, path=path)


def test_probe_without_data():
    model = _model()
    with pytest.raises(ValueError, match="needs the training data"):
        capture.GradientProbe(model, LOSS)
    with pytest.raises(ValueError, match="needs the training data"):
        capture.GradientProbe(model, LOSS, x=np.zeros((3, 4)))
    with pytest.raises(ValueError, match="at least one sample"):
        capture.GradientProbe(model, LOSS, np.zeros((0, 4)), np.zeros(0))
    with pytest.raises(ValueError, match="same number of samples"):
        capture.GradientProbe(model, LOSS, np.zeros((3, 4)), np.zeros(2))
    with pytest.raises(ValueError, match="`every`"):
        capture.GradientProbe(model, LOSS, *_data(), every=0)


def test_probe_callback_needs_a_recorder():
    x, y = _data()
    model = _model()
    model.compile(keras.optimizers.SGD(), LOSS)
    probe = capture.GradientProbe(model, LOSS, x, y)
    with pytest.raises(ValueError, match="compiled with a memsgd NoiseRecorder"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[probe])


def test_recorder_without_probe_warns_and_trains(tmp_path):
    x, y = _data()
    model = _model()
    opt = capture.NoiseRecorder(
        keras.optimizers.SGD(), path=tmp_path / "r.h5", num_coords=5
    )
    model.compile(opt, LOSS)
    with pytest.warns(UserWarning, match="no GradientProbe"):
        model.fit(x, y, epochs=1, verbose=0)


def test_frozen_bad_arguments(tmp_path):
    x, y = _data()
    model = _model()
    with pytest.raises(ValueError, match="sampler"):
        capture.record_frozen(
            model, LOSS, x, y, batch_size=5, sampler="shuffle", path=tmp_path / "f"
        )
    with pytest.raises(ValueError, match="batch_size"):
        capture.record_frozen(model, LOSS, x, y, batch_size=50, path=tmp_path / "f")
    with pytest.raises(ValueError, match="`loss` is required"):
        capture.record_frozen(model, None, x, y, batch_size=5, path=tmp_path / "f")
