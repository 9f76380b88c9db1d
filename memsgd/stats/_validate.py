"""The one place where the stats estimators check their input."""

from __future__ import annotations

import numpy as np

KINDS = ("noise", "path")


def as_series(
    x, *, name: str = "x", min_length: int = 8, kind: str | None = None
) -> np.ndarray:
    """Returns ``x`` as a float64 ``(T, C)`` array of finite values.

    A 1-D input is one series (``C = 1``). With ``kind="path"`` the series is
    differenced once, so every estimator downstream sees a noise.

    Args:
        x: array-like, ``(T,)`` or ``(T, C)``: time along axis 0.
        name: the argument's name, used in error messages.
        min_length: fewest time steps accepted (after differencing).
        kind: ``None`` (no differencing), ``"noise"`` or ``"path"``.

    Raises:
        ValueError: wrong rank, too short, non-finite values, or bad ``kind``.
    """
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(
            f"`{name}` must be 1-D (time,) or 2-D (time, series). "
            f"Received: {name}.shape={np.shape(x)}"
        )
    if kind is not None:
        check_choice("kind", kind, KINDS)
        if kind == "path":
            arr = np.diff(arr, axis=0)
    if arr.shape[0] < min_length:
        raise ValueError(
            f"`{name}` must have at least {min_length} time steps"
            f"{' after differencing' if kind == 'path' else ''}. "
            f"Received: {name}.shape={np.shape(x)}"
        )
    if arr.shape[1] < 1:
        raise ValueError(
            f"`{name}` must hold at least one series. "
            f"Received: {name}.shape={np.shape(x)}"
        )
    if not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(
            f"`{name}` must be finite. Received: {bad} NaN or infinite values"
        )
    return arr


def check_choice(name: str, value, choices) -> None:
    """Raises ``ValueError`` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(
            f"`{name}` must be one of {tuple(choices)}. Received: {name}={value!r}"
        )


def check_open_unit(name: str, value: float) -> None:
    """Raises ``ValueError`` unless ``0 < value < 1``."""
    ok = isinstance(value, (int, float, np.integer, np.floating))
    if not (ok and 0.0 < float(value) < 1.0):
        raise ValueError(f"`{name}` must be in (0, 1). Received: {name}={value!r}")


def check_int(name: str, value, low: int, high: int | None = None) -> int:
    """Returns ``int(value)`` after checking ``low <= value (<= high)``."""
    ok = isinstance(value, (int, np.integer)) and value >= low
    if ok and high is not None:
        ok = value <= high
    if not ok:
        span = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(
            f"`{name}` must be an integer {span}. Received: {name}={value!r}"
        )
    return int(value)


def to_list(a) -> list:
    """A JSON-safe list of Python floats (NaN becomes ``None``)."""
    arr = np.asarray(a, dtype=np.float64).ravel()
    return [None if not np.isfinite(v) else float(v) for v in arr]


def to_float(v) -> float | None:
    """A JSON-safe float (NaN or infinite becomes ``None``)."""
    v = float(v)
    return v if np.isfinite(v) else None
