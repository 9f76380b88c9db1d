"""Reader for the IDX format used by MNIST and Fashion-MNIST.

An IDX file is a big-endian header -- two zero bytes, a type code, the number
of dimensions, then one uint32 per dimension -- followed by the raw array.
Files may be gzip compressed (``.gz``).
"""

from __future__ import annotations

import gzip
import os

import numpy as np

_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Reads one IDX file (optionally gzipped) into a numpy array.

    Args:
        path: the ``.idx`` / ``-ubyte`` file, or its ``.gz`` version.

    Returns:
        The array, with the shape stored in the header.

    Raises:
        ValueError: if the file is not a valid IDX file.
    """
    path = os.fspath(path)
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _DTYPES:
        raise ValueError(f"`path` is not an IDX file. Received: path={path!r}")
    dtype = _DTYPES[data[2]]
    ndim = data[3]
    shape = tuple(
        int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)
    )
    offset = 4 + 4 * ndim
    count = int(np.prod(shape)) if shape else 1
    if len(data) - offset != count * dtype.itemsize:
        raise ValueError(
            f"IDX file {path!r} is truncated: header says shape {shape}, "
            f"but {len(data) - offset} bytes follow it."
        )
    array = np.frombuffer(data, dtype=dtype, offset=offset).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=True)
