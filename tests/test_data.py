"""The offline datasets: embedded subset, IDX/CIFAR/Keras-cache loaders."""

import gzip
import pickle

import numpy as np
import pytest

from memsgd import data


@pytest.fixture(scope="module")
def embedded():
    return data.load_embedded(raw=True)


def test_embedded_shapes_dtypes_and_class_balance(embedded):
    # Documented in memsgd/data and scripts/make_fashion_subset.py.
    assert embedded.x_train.shape == (12000, 28, 28)
    assert embedded.x_test.shape == (2000, 28, 28)
    assert embedded.x_train.dtype == np.uint8
    assert embedded.y_train.dtype == np.int32
    np.testing.assert_array_equal(np.bincount(embedded.y_train), [1200] * 10)
    np.testing.assert_array_equal(np.bincount(embedded.y_test), [200] * 10)


def test_embedded_checksum_matches_rebuild_script():
    from importlib import resources

    ref = resources.files("memsgd.data") / "fashion_mnist_subset.npz"
    with resources.as_file(ref) as path, np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    assert data.embedded_checksum(arrays) == data.EMBEDDED_SHA256
    # The recorded indices say where each image came from in the full set.
    assert np.all(np.diff(arrays["index_train"]) > 0)
    assert arrays["index_train"].max() < 60000


def test_default_load_is_float_images_in_unit_interval():
    ds = data.load()
    assert ds.name == "fashion_mnist_subset"
    assert ds.input_shape == (28, 28, 1)
    assert ds.x_train.dtype == np.float32
    assert 0.0 <= ds.x_train.min() and ds.x_train.max() <= 1.0
    assert ds.to_dict()["num_train"] == 12000


def _write_idx(path, array):
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(s).to_bytes(4, "big") for s in array.shape
    )
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_idx_round_trip(tmp_path, rng):
    images = rng.integers(0, 256, (7, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 7, dtype=np.uint8)
    for prefix in ("train", "t10k"):
        _write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", images)
        _write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", labels)
    ds = data.load("mnist", tmp_path)
    np.testing.assert_array_equal(ds.y_train, labels)
    np.testing.assert_allclose(ds.x_test[..., 0], images / 255.0, rtol=1e-6)


def test_cifar_layout(tmp_path, rng):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    raw = rng.integers(0, 256, (4, 3072), dtype=np.uint8)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        with open(folder / name, "wb") as f:
            pickle.dump({b"data": raw, b"labels": [0, 1, 2, 3]}, f)
    ds = data.load_keras_cache("cifar10", tmp_path)
    assert ds.x_train.shape == (20, 32, 32, 3)
    # Channel-first rows become channel-last images.
    assert ds.x_train[0, 0, 0, 1] == pytest.approx(raw[0, 1024] / 255.0)


def test_synthetic_is_seeded():
    a = data.make_synthetic(num_train=64, seed=3)
    b = data.make_synthetic(num_train=64, seed=3)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert a.x_train.shape == (64, 20)


def test_missing_directory_names_the_place(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(data.DatasetNotFoundError, match="nowhere"):
        data.load("fashion_mnist", missing)
    with pytest.raises(data.DatasetNotFoundError, match="looked in"):
        data.load("cifar10", tmp_path)


def test_unknown_dataset_name():
    with pytest.raises(ValueError, match="Received: name='imagenet'"):
        data.load("imagenet")


def test_bad_idx_file(tmp_path):
    bad = tmp_path / "x.idx"
    bad.write_bytes(b"not an idx file")
    with pytest.raises(ValueError, match="not an IDX file"):
        data.read_idx(bad)
