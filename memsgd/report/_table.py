"""The headline table: one row per architecture and recorded group.

The HTML report, ``memsgd compare`` and the CLI's printed table all use
:func:`summary_table` and :data:`COLUMNS`, so the three show the same
numbers with the same rounding.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from memsgd.report import _summary as S

MISSING = "—"


def _fixed(digits: int) -> Callable[[Any], str]:
    return lambda v: f"{v:.{digits}f}"


def _percent(digits: int) -> Callable[[Any], str]:
    return lambda v: f"{100 * v:.{digits}f}%"


def _points(v: Any) -> str:
    return f"{100 * v:+.1f} pp"


def _text(v: Any) -> str:
    return str(v)


_DRIVER_NAMES = {"fbm": "fBM", "levy": "Lévy", "brownian": "Brownian"}


def _driver(v: Any) -> str:
    return _DRIVER_NAMES.get(v, str(v))


@dataclasses.dataclass(frozen=True)
class Column:
    """A table column: row key, header, formatter and a one-line meaning."""

    key: str
    header: str
    fmt: Callable[[Any], str]
    meaning: str

    def format(self, value: Any) -> str:
        """The cell text; ``MISSING`` for ``None``."""
        if value is None:
            return MISSING
        return self.fmt(value)


COLUMNS: tuple[Column, ...] = (
    Column("architecture", "architecture", _text, "network"),
    Column("protocol", "protocol", _text, "recorded group"),
    Column(
        "hurst_mean",
        "Ĥ mean",
        _fixed(3),
        "mean Hurst exponent over coordinates (0.5: white noise)",
    ),
    Column("hurst_median", "Ĥ median", _fixed(3), "median over coordinates"),
    Column(
        "hurst_below_half",
        "CI < ½",
        _percent(0),
        "share of coordinates whose confidence interval lies below 0.5",
    ),
    Column(
        "gaussianity_rejected",
        "non-Gauss.",
        _percent(0),
        "share of coordinates where Gaussianity is rejected (FDR-controlled)",
    ),
    Column(
        "tail_index_median",
        "tail idx",
        _fixed(2),
        "median per-coordinate tail index (2: Gaussian)",
    ),
    Column(
        "tail_index_pooled",
        "pooled",
        _fixed(2),
        "tail index of all coordinates pooled (Şimşekli et al. 2019)",
    ),
    Column(
        "stable_alpha_median",
        "stable α",
        _fixed(2),
        "median α of the per-coordinate α-stable fit",
    ),
    Column("best_driver", "best driver", _driver, "SDE driver closest to the SGN"),
    Column(
        "driver_confidence",
        "conf.",
        _percent(0),
        "share of bootstrap resamples in which the best driver stays best",
    ),
    Column("test_accuracy", "test acc.", _percent(1), "test accuracy"),
    Column(
        "generalization_gap",
        "gen. gap",
        _points,
        "train accuracy minus test accuracy, in percentage points",
    ),
)

ROW_KEYS = (
    "architecture",
    "protocol",
    "protocol_kind",
    "num_steps",
    "num_series",
    "hurst_method",
    "hurst_mean",
    "hurst_median",
    "hurst_below_half",
    "hurst_above_half",
    "gaussianity_rejected",
    "tail_index_median",
    "tail_index_pooled",
    "stable_alpha_median",
    "best_driver",
    "driver_confidence",
    "train_accuracy",
    "test_accuracy",
    "generalization_gap",
    "missing",
)

# Row key -> path inside a group's dict (numbers) ...
_GROUP_NUMBERS = {
    "hurst_mean": ("stats", "hurst", "mean"),
    "hurst_median": ("stats", "hurst", "median"),
    "hurst_below_half": ("stats", "hurst", "fraction_below_half"),
    "hurst_above_half": ("stats", "hurst", "fraction_above_half"),
    "gaussianity_rejected": ("stats", "gaussianity", "fraction_rejected_any"),
    "tail_index_median": ("stats", "tail_index", "per_coordinate", "median"),
    "tail_index_pooled": ("stats", "tail_index", "pooled", "estimate"),
    "stable_alpha_median": ("stats", "stable", "median_alpha"),
    "driver_confidence": ("drivers", "confidence"),
}
# ... and inside an architecture's dict.
_ARCH_NUMBERS = {
    "train_accuracy": ("training", "train_accuracy"),
    "test_accuracy": ("training", "test_accuracy"),
    "generalization_gap": ("training", "generalization_gap"),
}


def summary_table(summary: Mapping) -> list[dict]:
    """One row per architecture and recorded group with the headline numbers.

    Every value is copied from the summary (no number is recomputed); a value
    that is missing, null or not finite is ``None`` and the row's
    ``"missing"`` list says which and why.

    Args:
        summary: the ``summary.json`` dict (``docs/summary-schema.md`` s. 5).

    Returns:
        A list of dicts with the keys of ``ROW_KEYS``: ``architecture``,
        ``protocol`` (group name), ``protocol_kind``, ``num_steps``,
        ``num_series``, ``hurst_method``, ``hurst_mean``, ``hurst_median``,
        ``hurst_below_half`` / ``hurst_above_half`` (share of coordinates
        whose CI lies entirely below / above 0.5), ``gaussianity_rejected``,
        ``tail_index_median``, ``tail_index_pooled``,
        ``stable_alpha_median``, ``best_driver``, ``driver_confidence``,
        ``train_accuracy``, ``test_accuracy``, ``generalization_gap``,
        ``missing``. An architecture without any recorded group still gets
        one row (``protocol`` ``None``) so its accuracy is shown.

    Raises:
        TypeError, ValueError: ``summary`` is not a run summary.
    """
    S.validate_summary(summary)
    by_arch: dict[str, list[S.Group]] = {}
    for each in S.groups(summary):
        by_arch.setdefault(each.arch, []).append(each)

    rows = []
    for arch, entry in S.architectures(summary).items():
        arch_values, arch_missing = _numbers(entry, _ARCH_NUMBERS)
        found: list[S.Group | None] = list(by_arch.get(arch, [])) or [None]
        for group in found:
            row = dict.fromkeys(ROW_KEYS)
            row.update(architecture=arch, **arch_values)
            missing = list(arch_missing)
            if group is None:
                missing.append("no recorded protocol")
            else:
                values, group_missing = _numbers(group.entry, _GROUP_NUMBERS)
                row.update(values)
                missing += group_missing
                row["protocol"] = group.name
                row["protocol_kind"] = group.kind
                stats = group.stats or {}
                for key in ("num_steps", "num_series"):
                    value = S.number(stats.get(key))
                    row[key] = None if value is None else int(value)
                method = S.get(stats, "hurst", "method")
                row["hurst_method"] = method if isinstance(method, str) else None
                best, reason = S.lookup(group.entry, "drivers", "best")
                row["best_driver"] = best if isinstance(best, str) else None
                if reason:
                    missing.append(reason)
            # Several columns share a null section: name it once.
            row["missing"] = list(dict.fromkeys(missing))
            rows.append(row)
    return rows


def _numbers(entry: Mapping, paths: Mapping[str, tuple[str, ...]]):
    values, missing = {}, []
    for key, path in paths.items():
        value, reason = S.lookup(entry, *path)
        values[key] = S.number(value)
        if reason is None and values[key] is None:
            reason = f"'{'.'.join(path)}' is not a finite number: {value!r}"
        if reason:
            missing.append(reason)
    return values, missing


def format_row(row: Mapping, columns: Sequence[Column] = COLUMNS) -> list[str]:
    """The cell texts of one row."""
    return [c.format(row.get(c.key)) for c in columns]


def format_table(rows: Sequence[Mapping], columns: Sequence[Column] = COLUMNS) -> str:
    """A fixed-width text table of ``rows`` (for the CLI), one line per row.

    Example:
        >>> print(format_table(summary_table(summary)))  # doctest: +SKIP
    """
    cells = [[c.header for c in columns]] + [format_row(r, columns) for r in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    lines = []
    for n, line in enumerate(cells):
        parts = [
            text.ljust(w) if i < 2 else text.rjust(w)
            for i, (text, w) in enumerate(zip(line, widths))
        ]
        lines.append("  ".join(parts).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
