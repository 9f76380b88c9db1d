"""memsgd: stochastic gradient noise and its memory in Keras training.

Importing ``memsgd`` is cheap: TensorFlow is imported only when a part that
needs it (``capture``, ``sde``, ``models``) is first used. The public names
below are resolved lazily.

Reference: Tan, Zhang & Liu, "Understanding Short-Range Memory Effects in Deep
Neural Networks", IEEE TNNLS 2023, arXiv:2105.02062.
"""

from __future__ import annotations

import importlib
import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

_SUBMODULES = (
    "capture",
    "cli",
    "data",
    "models",
    "recording",
    "report",
    "sde",
    "stats",
)

# Public names re-exported lazily: name -> module that defines it.
_LAZY = {
    "NoiseRecorder": "memsgd.capture",
    "GradientProbe": "memsgd.capture",
    "record_frozen": "memsgd.capture",
}


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"memsgd.{name}")
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'memsgd' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_SUBMODULES) + list(_LAZY))
