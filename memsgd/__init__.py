"""memsgd: stochastic gradient noise and its memory in Keras training.

Importing ``memsgd`` is cheap: TensorFlow is imported only when a part that
needs it (``capture``, ``sde``, ``models``) is first used. The public names
below are resolved lazily.

Reference: Tan, Zhang & Liu, "Understanding Short-Range Memory Effects in Deep
Neural Networks", IEEE TNNLS 2023, arXiv:2105.02062.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import logging
import pathlib
import sys

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())


class _CheckoutFinder(importlib.abc.MetaPathFinder):
    """Finds ``memsgd.cli`` and ``memsgd.models`` in a source checkout.

    An install maps the top-level folders ``cli/`` and ``models/`` into the
    package (``package_dir`` in setup.py). Python started in the checkout's
    root imports this source folder instead of the install, and the source
    folder has no ``cli`` or ``models`` inside: this finder, asked last, points
    the two names at the top-level folders, the same code an install has.
    """

    def __init__(self, parts: dict[str, pathlib.Path]):
        self.parts = parts

    def find_spec(self, fullname, path=None, target=None):
        folder = self.parts.get(fullname)
        if folder is None:
            return None
        return importlib.util.spec_from_file_location(
            fullname, folder / "__init__.py", submodule_search_locations=[str(folder)]
        )


def _checkout_parts() -> dict[str, pathlib.Path]:
    here = pathlib.Path(__file__).resolve().parent
    return {
        f"memsgd.{name}": here.parent / name
        for name in ("cli", "models")
        if not (here / name).is_dir() and (here.parent / name / "__init__.py").is_file()
    }


_parts = _checkout_parts()
if _parts and not any(isinstance(f, _CheckoutFinder) for f in sys.meta_path):
    sys.meta_path.append(_CheckoutFinder(_parts))
del _parts

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
