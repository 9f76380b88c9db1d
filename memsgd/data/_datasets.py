"""Offline datasets: the embedded Fashion-MNIST subset, files on disk, and a
synthetic Gaussian mixture.

Nothing here downloads. Images come back as float32 in [0, 1] with a channel
axis (``N, H, W, C``) and labels as int32 class indices.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import pathlib
import pickle
from importlib import resources

import numpy as np

from memsgd.data import _idx

logger = logging.getLogger(__name__)

EMBEDDED = "fashion_mnist_subset"
NAMES = (EMBEDDED, "fashion_mnist", "mnist", "cifar10", "cifar100", "synthetic")
DEFAULT_CACHE = pathlib.Path("~/.keras/datasets")

# Rebuilt by scripts/make_fashion_subset.py; the test suite checks it.
EMBEDDED_SHA256 = "0c81adbe14c90333cff97d0ee7d643c0865d382293ce9c42277450cc64504f09"

_IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
_SYSTEM_DIRS = {
    "fashion_mnist": pathlib.Path("/usr/share/datasets/fashion-mnist"),
}
_HOW_TO_GET = {
    "fashion_mnist": "it with `apt-get install dataset-fashion-mnist` "
    "(Debian/Ubuntu) or the IDX files from github.com/zalandoresearch/"
    "fashion-mnist",
    "mnist": "MNIST's four IDX files (train/t10k images and labels) or "
    "Keras' mnist.npz",
    "cifar10": "cifar-10-python.tar.gz from cs.toronto.edu/~kriz, unpacked",
    "cifar100": "cifar-100-python.tar.gz from cs.toronto.edu/~kriz, unpacked",
}


class DatasetNotFoundError(FileNotFoundError):
    """Raised when a dataset's files are not where they were looked for."""


@dataclasses.dataclass(frozen=True)
class Dataset:
    """A classification dataset held in memory.

    Attributes:
        name: short name, e.g. ``"fashion_mnist_subset"``.
        x_train: float32 inputs, ``(N, ...)``.
        y_train: int32 labels, ``(N,)``.
        x_test: float32 inputs, ``(M, ...)``.
        y_test: int32 labels, ``(M,)``.
        num_classes: number of classes.
        source: where the data came from (a path or a description).
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    source: str

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input, without the batch axis."""
        return tuple(self.x_train.shape[1:])

    def to_dict(self) -> dict:
        """Metadata (no arrays) for JSON and HDF5 attributes."""
        return {
            "name": self.name,
            "source": self.source,
            "num_train": int(self.x_train.shape[0]),
            "num_test": int(self.x_test.shape[0]),
            "input_shape": list(self.input_shape),
            "num_classes": self.num_classes,
        }

    def subset(self, num_train: int | None = None, num_test: int | None = None):
        """The first ``num_train`` / ``num_test`` examples (None keeps all)."""
        return dataclasses.replace(
            self,
            x_train=self.x_train[:num_train],
            y_train=self.y_train[:num_train],
            x_test=self.x_test[:num_test],
            y_test=self.y_test[:num_test],
        )

    def as_tf_datasets(self, batch_size: int, seed: int, drop_remainder=True):
        """``tf.data`` pipelines: a shuffled training set and the test set.

        Args:
            batch_size: examples per batch.
            seed: shuffling seed (reshuffled each epoch, reproducibly).
            drop_remainder: drop the last partial training batch, so every
                step sees ``batch_size`` examples.

        Returns:
            ``(train, test)`` batched ``tf.data.Dataset`` objects.
        """
        import tensorflow as tf

        train = (
            tf.data.Dataset.from_tensor_slices((self.x_train, self.y_train))
            .shuffle(len(self.x_train), seed=seed, reshuffle_each_iteration=True)
            .batch(batch_size, drop_remainder=drop_remainder)
            .prefetch(tf.data.AUTOTUNE)
        )
        test = tf.data.Dataset.from_tensor_slices((self.x_test, self.y_test))
        return train, test.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def _images(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., None]
    return (x.astype(np.float32) / 255.0) if x.dtype == np.uint8 else x


def _labels(y: np.ndarray) -> np.ndarray:
    return np.asarray(y).reshape(-1).astype(np.int32)


def _missing(name: str, looked: list[pathlib.Path]) -> DatasetNotFoundError:
    places = ", ".join(str(p) for p in looked)
    return DatasetNotFoundError(
        f"dataset {name!r} not found; looked in: {places}. "
        f"Get {_HOW_TO_GET[name]}, then pass its folder as `path` "
        "(`--data-path` on the command line)."
    )


def embedded_checksum(arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 over the arrays' bytes, in sorted key order."""
    digest = hashlib.sha256()
    for key in sorted(arrays):
        digest.update(np.ascontiguousarray(arrays[key]).tobytes())
    return digest.hexdigest()


def load_embedded(raw: bool = False) -> Dataset:
    """The Fashion-MNIST subset that ships inside memsgd.

    12,000 training images (1,200 per class) and 2,000 test images (200 per
    class), drawn without replacement with a fixed seed by
    ``scripts/make_fashion_subset.py`` from the full set. Fashion-MNIST is
    MIT-licensed (Xiao, Rasul & Vollgraf 2017, arXiv:1708.07747); see
    ``LICENSE-fashion-mnist`` beside the data.

    Args:
        raw: return uint8 images ``(N, 28, 28)`` instead of float32
            ``(N, 28, 28, 1)`` in [0, 1].

    Returns:
        A :class:`Dataset`.
    """
    ref = resources.files("memsgd.data") / "fashion_mnist_subset.npz"
    with resources.as_file(ref) as path, np.load(path) as npz:
        arrays = {key: npz[key] for key in npz.files}
    convert_x = (lambda x: x) if raw else _images
    return Dataset(
        name=EMBEDDED,
        x_train=convert_x(arrays["x_train"]),
        y_train=_labels(arrays["y_train"]),
        x_test=convert_x(arrays["x_test"]),
        y_test=_labels(arrays["y_test"]),
        num_classes=10,
        source="embedded subset of Fashion-MNIST (memsgd/data)",
    )


def _find_idx(directory: pathlib.Path, stem: str) -> pathlib.Path | None:
    for candidate in (stem, stem + ".gz", stem.replace("-idx", ".idx")):
        if (directory / candidate).is_file():
            return directory / candidate
    return None


def load_idx_dir(path: str | os.PathLike, name: str = "fashion_mnist") -> Dataset:
    """MNIST or Fashion-MNIST from a folder of the four original IDX files.

    Args:
        path: folder holding ``train-images-idx3-ubyte[.gz]`` and the other
            three files.
        name: dataset name to record (``"fashion_mnist"`` or ``"mnist"``).

    Returns:
        A :class:`Dataset`.

    Raises:
        DatasetNotFoundError: if a file is missing.
    """
    directory = pathlib.Path(path).expanduser()
    found = {key: _find_idx(directory, stem) for key, stem in _IDX_FILES.items()}
    arrays = {}
    for key, file in found.items():
        if file is None:
            raise _missing(name, [directory])
        arrays[key] = _idx.read_idx(file)
    return Dataset(
        name=name,
        x_train=_images(arrays["x_train"]),
        y_train=_labels(arrays["y_train"]),
        x_test=_images(arrays["x_test"]),
        y_test=_labels(arrays["y_test"]),
        num_classes=10,
        source=str(directory),
    )


def _unpickle(path: pathlib.Path) -> dict:
    with open(path, "rb") as f:
        return pickle.load(f, encoding="bytes")


def _cifar_images(raw: np.ndarray) -> np.ndarray:
    return _images(
        np.asarray(raw, np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    )


def load_cifar(path: str | os.PathLike, name: str = "cifar10") -> Dataset:
    """CIFAR-10 / CIFAR-100 from the unpacked "python version" folder.

    Args:
        path: ``cifar-10-batches-py`` or ``cifar-100-python`` folder.
        name: ``"cifar10"`` or ``"cifar100"`` (fine labels).

    Returns:
        A :class:`Dataset` of 32x32x3 images.

    Raises:
        DatasetNotFoundError: if the batch files are missing.
    """
    directory = pathlib.Path(path).expanduser()
    if name == "cifar10":
        train_files = [directory / f"data_batch_{i}" for i in range(1, 6)]
        test_files, key, classes = [directory / "test_batch"], b"labels", 10
    else:
        train_files, test_files = [directory / "train"], [directory / "test"]
        key, classes = b"fine_labels", 100
    if not all(p.is_file() for p in train_files + test_files):
        raise _missing(name, [directory])

    def read(files):
        parts = [_unpickle(p) for p in files]
        x = np.concatenate([_cifar_images(p[b"data"]) for p in parts])
        y = np.concatenate([np.asarray(p[key]) for p in parts])
        return x, _labels(y)

    x_train, y_train = read(train_files)
    x_test, y_test = read(test_files)
    return Dataset(name, x_train, y_train, x_test, y_test, classes, str(directory))


def load_keras_cache(name: str, cache_dir: str | os.PathLike | None = None) -> Dataset:
    """A dataset from Keras' download cache (``~/.keras/datasets``).

    Looks for ``mnist.npz``, ``fashion-mnist/``, ``cifar-10-batches-py/`` or
    ``cifar-100-python/`` there; nothing is downloaded.

    Args:
        name: ``"mnist"``, ``"fashion_mnist"``, ``"cifar10"`` or ``"cifar100"``.
        cache_dir: the cache folder; defaults to ``~/.keras/datasets``.

    Returns:
        A :class:`Dataset`.

    Raises:
        DatasetNotFoundError: if the files are not in the cache.
    """
    root = pathlib.Path(cache_dir or DEFAULT_CACHE).expanduser()
    if name == "mnist":
        npz = root / "mnist.npz"
        if npz.is_file():
            with np.load(npz) as f:
                return Dataset(
                    "mnist",
                    _images(f["x_train"]),
                    _labels(f["y_train"]),
                    _images(f["x_test"]),
                    _labels(f["y_test"]),
                    10,
                    str(npz),
                )
        return load_idx_dir(root / "mnist", "mnist")
    if name == "fashion_mnist":
        return load_idx_dir(root / "fashion-mnist", name)
    if name in ("cifar10", "cifar100"):
        folder = "cifar-10-batches-py" if name == "cifar10" else "cifar-100-python"
        return load_cifar(root / folder, name)
    raise ValueError(
        "`name` must be one of 'mnist', 'fashion_mnist', 'cifar10', 'cifar100'. "
        f"Received: name={name!r}"
    )


def make_synthetic(
    num_train: int = 2048,
    num_test: int = 512,
    num_features: int = 20,
    num_classes: int = 4,
    separation: float = 2.0,
    seed: int = 0,
) -> Dataset:
    """A Gaussian-mixture classification set, for fast tests.

    Class ``c`` draws ``x ~ N(mu_c, I)`` with means ``mu_c`` drawn once from
    ``N(0, separation^2 I / num_features)`` so class overlap does not depend
    on the dimension.

    Args:
        num_train: training examples.
        num_test: test examples.
        num_features: input dimension.
        num_classes: number of mixture components (= classes).
        separation: scale of the class means.
        seed: seed of the generator.

    Returns:
        A :class:`Dataset` with float32 inputs ``(N, num_features)``.
    """
    for arg, value in (
        ("num_train", num_train),
        ("num_test", num_test),
        ("num_features", num_features),
        ("num_classes", num_classes),
    ):
        if int(value) != value or value < 1:
            raise ValueError(
                f"`{arg}` must be a positive integer. Received: {arg}={value!r}"
            )
    rng = np.random.default_rng(seed)
    means = rng.normal(
        0.0, separation / np.sqrt(num_features), (num_classes, num_features)
    )

    def draw(n):
        y = rng.integers(0, num_classes, n)
        x = means[y] + rng.standard_normal((n, num_features))
        return x.astype(np.float32), y.astype(np.int32)

    x_train, y_train = draw(num_train)
    x_test, y_test = draw(num_test)
    return Dataset(
        "synthetic",
        x_train,
        y_train,
        x_test,
        y_test,
        num_classes,
        f"synthetic(seed={seed})",
    )


def load(
    name: str = EMBEDDED, path: str | os.PathLike | None = None, seed: int = 0
) -> Dataset:
    """Loads a dataset by name, offline.

    Args:
        name: one of ``NAMES``: ``"fashion_mnist_subset"`` (embedded, the
            default), ``"fashion_mnist"``, ``"mnist"``, ``"cifar10"``,
            ``"cifar100"`` or ``"synthetic"``.
        path: where the files are: a folder of IDX files (MNIST kinds), the
            unpacked CIFAR folder, or a Keras cache folder. Without it, the
            Debian install location (Fashion-MNIST) and ``~/.keras/datasets``
            are searched.
        seed: seed for ``"synthetic"``.

    Returns:
        A :class:`Dataset`.

    Raises:
        ValueError: for an unknown name.
        DatasetNotFoundError: if the files are not found; the message says
            where memsgd looked and how to get them.
    """
    key = name.replace("-", "_").lower()
    if key not in NAMES:
        raise ValueError(
            f"`name` must be one of {', '.join(NAMES)}. Received: name={name!r}"
        )
    if key == EMBEDDED:
        return load_embedded()
    if key == "synthetic":
        return make_synthetic(seed=seed)
    if path is not None:
        directory = pathlib.Path(path).expanduser()
        if not directory.is_dir():
            raise DatasetNotFoundError(
                f"dataset folder does not exist: {directory} (for dataset {key!r}). "
                f"Get it with {_HOW_TO_GET[key]}."
            )
        if key.startswith("cifar"):
            return load_cifar(directory, key)
        try:
            return load_idx_dir(directory, key)
        except DatasetNotFoundError:
            return load_keras_cache(key, directory)
    looked = []
    if key in _SYSTEM_DIRS:
        looked.append(_SYSTEM_DIRS[key])
        if _SYSTEM_DIRS[key].is_dir():
            return load_idx_dir(_SYSTEM_DIRS[key], key)
    try:
        return load_keras_cache(key)
    except DatasetNotFoundError:
        looked.append(DEFAULT_CACHE.expanduser())
        raise _missing(key, looked) from None
