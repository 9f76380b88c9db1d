"""Rebuild the embedded Fashion-MNIST subset shipped in ``memsgd/data``.

The full set comes from Debian's ``dataset-fashion-mnist`` package
(``apt-get install dataset-fashion-mnist``), which installs the original IDX
files under ``/usr/share/datasets/fashion-mnist``. The subset is class
balanced and drawn without replacement with a fixed seed:

* train: 1,200 images of each of the 10 classes from the 60k training split;
* test: 200 images of each class from the 10k test split.

Within each split the chosen indices are sorted, so the subset keeps the
original order. Run ``python scripts/make_fashion_subset.py`` to rebuild it
bit for bit; ``tests/test_data.py`` checks the checksum it prints.
"""

from __future__ import annotations

import argparse
import hashlib
import pathlib

import numpy as np

from memsgd.data import _idx

SEED = 20210505  # arXiv:2105.02062 submission date
TRAIN_PER_CLASS = 1200
TEST_PER_CLASS = 200
SOURCE = pathlib.Path("/usr/share/datasets/fashion-mnist")
TARGET = pathlib.Path(__file__).resolve().parents[1] / "memsgd" / "data"


def balanced_indices(labels, per_class, rng):
    """Sorted indices of ``per_class`` draws without replacement per class."""
    chosen = [
        rng.choice(np.flatnonzero(labels == c), size=per_class, replace=False)
        for c in range(10)
    ]
    return np.sort(np.concatenate(chosen))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=pathlib.Path, default=SOURCE)
    parser.add_argument("--out", type=pathlib.Path, default=TARGET)
    args = parser.parse_args()

    rng = np.random.default_rng(SEED)
    arrays = {}
    for split, prefix, per_class in (
        ("train", "train", TRAIN_PER_CLASS),
        ("test", "t10k", TEST_PER_CLASS),
    ):
        x = _idx.read_idx(args.source / f"{prefix}-images-idx3-ubyte.gz")
        y = _idx.read_idx(args.source / f"{prefix}-labels-idx1-ubyte.gz")
        keep = balanced_indices(y, per_class, rng)
        arrays[f"x_{split}"] = x[keep]
        arrays[f"y_{split}"] = y[keep]
        arrays[f"index_{split}"] = keep.astype(np.int32)

    path = args.out / "fashion_mnist_subset.npz"
    np.savez_compressed(path, **arrays)
    digest = hashlib.sha256()
    for key in sorted(arrays):
        digest.update(arrays[key].tobytes())
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")
    print(f"content sha256: {digest.hexdigest()}")


if __name__ == "__main__":
    main()
