"""Colours, line styles and the figure factory shared by every figure.

Figures are ``matplotlib.figure.Figure`` objects saved with the Agg renderer;
pyplot is never imported, so the user's backend and open figures are left
alone, and style settings live in an ``rc_context`` for the duration of one
figure only.
"""

from __future__ import annotations

import contextlib
import pathlib
from collections.abc import Iterable, Iterator
from typing import Any

import matplotlib
from matplotlib.figure import Figure

# Paul Tol's "muted" colours for architectures (colour-blind safe); the
# drivers take Okabe-Ito hues that do not collide with them.
_ARCH_COLORS = {
    "mlp": "#117733",
    "lenet": "#882255",
    "vgg": "#999933",
    "resnet20": "#CC6677",
    "alexnet": "#332288",
}
_EXTRA_COLORS = ("#44AA99", "#AA4499", "#6699CC", "#661100", "#DDAA33", "#88CCEE")

DRIVER_COLORS = {"brownian": "#666666", "levy": "#D55E00", "fbm": "#0072B2"}
DRIVER_LABELS = {"brownian": "Brownian", "levy": "Lévy α-stable", "fbm": "fBM"}
DRIVER_ORDER = ("brownian", "levy", "fbm")

# The marginal laws drawn in QQ plots share the colour of the driver whose
# increments follow them.
GAUSSIAN_COLOR = DRIVER_COLORS["brownian"]
STABLE_COLOR = DRIVER_COLORS["levy"]

# Protocols: in-training solid and filled, frozen dashed and hollow.
PROTOCOL_LINESTYLE = {"in_training": "-", "frozen": "--"}
PROTOCOL_LABELS = {"in_training": "in training", "frozen": "frozen weights"}

REFERENCE_COLOR = "#222222"
MUTED = "#9A9A9A"

DPI = 130

_RC: dict[Any, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 8.5,
    "axes.titlesize": 9,
    "axes.titlelocation": "left",
    "axes.labelsize": 8.5,
    "axes.edgecolor": "#444444",
    "axes.linewidth": 0.7,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": "#E8E8E8",
    "grid.linewidth": 0.6,
    "xtick.labelsize": 7.5,
    "ytick.labelsize": 7.5,
    "xtick.color": "#444444",
    "ytick.color": "#444444",
    "legend.fontsize": 7.5,
    "legend.frameon": False,
    "lines.linewidth": 1.4,
    "lines.markersize": 4.5,
    "savefig.dpi": DPI,
    "savefig.facecolor": "white",
    "figure.facecolor": "white",
}


def arch_colors(names: Iterable[str]) -> dict[str, str]:
    """A fixed colour per architecture.

    The five built-in architectures always get the same colour; other names
    take the remaining colours in the order given, so pass the same ordered
    list wherever the same runs are drawn.
    """
    out, extra = {}, iter(_EXTRA_COLORS * 8)
    for name in names:
        if name in out:
            continue
        out[name] = _ARCH_COLORS.get(name) or next(extra)
    return out


def driver_color(name) -> str:
    return DRIVER_COLORS.get(name, MUTED) if isinstance(name, str) else MUTED


def driver_label(name) -> str:
    if not isinstance(name, str):
        return "driver"
    return DRIVER_LABELS.get(name, name)


def protocol_label(kind: str) -> str:
    return PROTOCOL_LABELS.get(kind, kind)


def protocol_linestyle(kind: str) -> str:
    return PROTOCOL_LINESTYLE.get(kind, ":")


@contextlib.contextmanager
def style() -> Iterator[None]:
    """The report's matplotlib settings, for the ``with`` block only."""
    with matplotlib.rc_context(_RC):
        yield


def new_figure(width: float, height: float) -> Figure:
    """A figure with constrained layout; call inside ``style()``."""
    return Figure(figsize=(width, height), layout="constrained")


def save(fig: Figure, path: pathlib.Path) -> pathlib.Path:
    """Writes ``fig`` as PNG without a timestamp or version (reproducible)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=DPI, metadata={"Software": None})
    return path
