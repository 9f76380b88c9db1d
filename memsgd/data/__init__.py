"""Offline datasets for memsgd (no downloads, ever).

The default is a class-balanced 12k/2k subset of Fashion-MNIST that ships
inside the package; full MNIST, Fashion-MNIST and CIFAR load from files a user
already has, and a seeded Gaussian mixture serves fast tests.
"""

from memsgd.data._datasets import (
    EMBEDDED,
    EMBEDDED_SHA256,
    NAMES,
    Dataset,
    DatasetNotFoundError,
    embedded_checksum,
    load,
    load_cifar,
    load_embedded,
    load_idx_dir,
    load_keras_cache,
    make_synthetic,
)
from memsgd.data._idx import read_idx

__all__ = [
    "EMBEDDED",
    "EMBEDDED_SHA256",
    "NAMES",
    "Dataset",
    "DatasetNotFoundError",
    "embedded_checksum",
    "load",
    "load_cifar",
    "load_embedded",
    "load_idx_dir",
    "load_keras_cache",
    "make_synthetic",
    "read_idx",
]
