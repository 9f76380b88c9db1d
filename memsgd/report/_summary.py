"""Reading the run summary: validation, tolerant lookups, protocol groups.

The report is drawn from the ``summary.json`` dict of ``memsgd analyze``
(``docs/summary-schema.md`` section 5) and nothing else. Any part of that dict
may be missing or ``null`` (with a sibling ``"error"`` saying why); the
helpers here turn such gaps into ``None`` plus a sentence for the report's
notes instead of an exception.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

IN_TRAINING = "in_training"
FROZEN = "frozen"


def validate_summary(summary: Any, name: str = "summary") -> None:
    """Checks that ``summary`` has the shape of a run summary.

    This is the one place the report validates its input; everything below an
    architecture is optional and handled where it is drawn.

    Args:
        summary: the dict written to ``summary.json`` by ``memsgd analyze``.
        name: the argument's name, for the error message.

    Raises:
        TypeError: ``summary`` or its ``"architectures"`` is not a dict.
        ValueError: ``summary`` has no ``"architectures"`` section.
    """
    if not isinstance(summary, Mapping):
        raise TypeError(
            f"`{name}` must be a dict (the summary.json of `memsgd analyze`). "
            f"Received: {name} of type {type(summary).__name__}"
        )
    if "architectures" not in summary:
        raise ValueError(
            f"`{name}` must have an 'architectures' section "
            "(docs/summary-schema.md section 5). "
            f"Received keys: {sorted(map(str, summary))}"
        )
    archs = summary["architectures"]
    if not isinstance(archs, Mapping):
        raise TypeError(
            f"`{name}['architectures']` must be a dict of architecture name to "
            f"results. Received: type {type(archs).__name__}"
        )


def lookup(tree: Any, *path: str) -> tuple[Any, str | None]:
    """Follows ``path`` into nested dicts.

    Returns:
        ``(value, None)`` when every key is present and the value is not null,
        else ``(None, reason)`` where ``reason`` names the missing or null key
        and quotes the sibling ``"error"`` when there is one.
    """
    node = tree
    for depth, key in enumerate(path):
        where = ".".join(path[: depth + 1])
        if not isinstance(node, Mapping):
            return None, f"'{'.'.join(path[:depth]) or 'root'}' is not a dict"
        if key not in node:
            return None, f"'{where}' is missing"
        value = node[key]
        if value is None:
            error = node.get("error")
            return None, f"'{where}' is null" + (f" ({error})" if error else "")
        node = value
    return node, None


def get(tree: Any, *path: str) -> Any:
    """``lookup(tree, *path)[0]``: the value or ``None``."""
    return lookup(tree, *path)[0]


def number(value: Any) -> float | None:
    """A finite float, or ``None`` for missing, null, NaN or non-numbers."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def array(value: Any) -> np.ndarray | None:
    """A float array with ``None`` entries as NaN, or ``None`` if not a list."""
    if not isinstance(value, Sequence) or isinstance(value, str):
        return None
    try:
        out = np.array([np.nan if v is None else v for v in value], dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return out


def finite(value: Any) -> np.ndarray:
    """The finite entries of a 1-D list (empty when missing)."""
    out = array(value)
    if out is None or out.ndim != 1:
        return np.empty(0)
    return out[np.isfinite(out)]


@dataclasses.dataclass(frozen=True)
class Group:
    """One recorded series group of one architecture.

    Attributes:
        arch: architecture name (a key of ``summary["architectures"]``).
        name: group name, e.g. ``"in_training"`` or ``"frozen/epoch_002"``.
        kind: the protocol, ``"in_training"`` or ``"frozen"``.
        entry: the group's dict: ``{"protocol", "stats", "drivers"}``.
    """

    arch: str
    name: str
    kind: str
    entry: Mapping

    @property
    def label(self) -> str:
        return f"{self.arch} / {self.name}"

    @property
    def stats(self) -> Mapping | None:
        value = get(self.entry, "stats")
        return value if isinstance(value, Mapping) else None

    @property
    def drivers(self) -> Mapping | None:
        value = get(self.entry, "drivers")
        return value if isinstance(value, Mapping) else None


def architectures(summary: Mapping) -> dict[str, Mapping]:
    """Architecture name -> its entry (entries that are not dicts dropped)."""
    archs = summary.get("architectures") or {}
    return {str(k): v for k, v in archs.items() if isinstance(v, Mapping)}


def groups(summary: Mapping) -> list[Group]:
    """Every (architecture, group): architectures in the summary's order,
    each one's groups in-training first, then frozen, then others (each
    protocol's groups in the summary's order)."""
    out = []
    for arch, entry in architectures(summary).items():
        protocols = get(entry, "protocols")
        if not isinstance(protocols, Mapping):
            continue
        found = []
        for name, group in protocols.items():
            if not isinstance(group, Mapping):
                continue
            kind = group.get("protocol")
            if not isinstance(kind, str) or not kind:
                kind = str(name).split("/")[0]
            found.append(Group(arch, str(name), kind, group))
        out += sorted(found, key=lambda g: _KIND_RANK.get(g.kind, len(_KIND_RANK)))
    return out


_KIND_RANK = {IN_TRAINING: 0, FROZEN: 1}


def kinds(summary: Mapping) -> list[str]:
    """Distinct protocols present: ``in_training`` first, then ``frozen``."""
    found = {g.kind for g in groups(summary)}
    order = [k for k in (IN_TRAINING, FROZEN) if k in found]
    return order + sorted(found - {IN_TRAINING, FROZEN})


def group_of(summary: Mapping, arch: str, kind: str) -> Group | None:
    """The last group of ``arch`` with protocol ``kind`` (latest checkpoint)."""
    found = [g for g in groups(summary) if g.arch == arch and g.kind == kind]
    return found[-1] if found else None


def primary_kind(summary: Mapping) -> str | None:
    """The protocol most figures show: in-training when it has statistics.

    A protocol whose groups all lack statistics (in-training probed too
    rarely, say) gives way to the next one that has them.
    """
    found = kinds(summary)
    analysed = {g.kind for g in groups(summary) if _has_stats(g)}
    return next((k for k in found if k in analysed), found[0] if found else None)


def _has_stats(group: Group) -> bool:
    return isinstance(group.entry.get("stats"), Mapping)
