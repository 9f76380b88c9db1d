"""Argument checks shared by the sde part: one place, one message format."""

from __future__ import annotations

import math
import numbers

import numpy as np


def check_open_interval(name: str, value, low: float, high: float) -> float:
    """Returns ``float(value)`` if ``low < value < high``, else raises."""
    value = _as_real(name, value)
    if not low < value < high:
        raise ValueError(
            f"`{name}` must be in ({low:g}, {high:g}). Received: {name}={value!r}"
        )
    return value


def check_half_open(name: str, value, low: float, high: float) -> float:
    """Returns ``float(value)`` if ``low < value <= high``, else raises."""
    value = _as_real(name, value)
    if not low < value <= high:
        raise ValueError(
            f"`{name}` must be in ({low:g}, {high:g}]. Received: {name}={value!r}"
        )
    return value


def check_closed_interval(name: str, value, low: float, high: float) -> float:
    """Returns ``float(value)`` if ``low <= value <= high``, else raises."""
    value = _as_real(name, value)
    if not low <= value <= high:
        raise ValueError(
            f"`{name}` must be in [{low:g}, {high:g}]. Received: {name}={value!r}"
        )
    return value


def check_positive(name: str, value) -> float:
    """Returns ``float(value)`` if it is finite and > 0, else raises."""
    value = _as_real(name, value)
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(
            f"`{name}` must be a finite number > 0. Received: {name}={value!r}"
        )
    return value


def check_positive_int(name: str, value) -> int:
    """Returns ``int(value)`` if it is an integer >= 1, else raises."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"`{name}` must be an integer >= 1. Received: {name}={value!r} "
            f"of type {type(value).__name__}"
        )
    if value < 1:
        raise ValueError(f"`{name}` must be an integer >= 1. Received: {name}={value}")
    return int(value)


def check_choice(name: str, value, choices) -> str:
    """Returns ``value`` if it is one of ``choices``, else raises."""
    if value not in choices:
        raise ValueError(
            f"`{name}` must be one of {sorted(choices)}. Received: {name}={value!r}"
        )
    return value


def _as_real(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"`{name}` must be a real number. Received: {name}={value!r} "
            f"of type {type(value).__name__}"
        )
    return float(value)


def check_values(name: str, value, low: float, high: float, closed: str = "") -> None:
    """Checks every concrete value of an array-like parameter lies in range.

    Args:
      name: the argument's name, for the message.
      value: a number, array or eager tensor. Symbolic tensors (inside a
        ``tf.function``) are not checked here; the distributions check them
        with ``validate_args=True``.
      low: lower bound.
      high: upper bound.
      closed: which ends are closed: "", "low", "high" or "both".
    """
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError, NotImplementedError):
        return
    low_ok = array >= low if closed in ("low", "both") else array > low
    high_ok = array <= high if closed in ("high", "both") else array < high
    if not np.all(low_ok & high_ok):
        left = "[" if closed in ("low", "both") else "("
        right = "]" if closed in ("high", "both") else ")"
        shown = array.tolist() if array.size <= 8 else f"array with {array.size}"
        raise ValueError(
            f"`{name}` must be in {left}{low:g}, {high:g}{right}. "
            f"Received: {name}={shown}"
        )
