"""Tests of memsgd.report: figures, the standalone HTML and the tables.

The report is drawn from the summary dict alone, so the tests build a
realistic summary (``make_summary``: three architectures, two protocols,
shapes consistent with ``docs/summary-schema.md``) from a seeded generator,
and check the report against that dict: every number shown is the dict's
number, every figure is written and embedded, and sections the dict lacks are
named in the page instead of crashing it.
"""

from __future__ import annotations

import base64
import copy
import html.parser
import json
import math
import pathlib
import statistics
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from matplotlib import image as mpimg

from memsgd import report
from memsgd.report import _figures, _html, _table

ARCHS = {"mlp": 0.42, "lenet": 0.46, "resnet20": 0.37}  # H of the fixture
PROTOCOLS = ("in_training", "frozen/epoch_003")


# --------------------------------------------------------------------------
# The fixture: a summary with the schema's shapes and plausible values.
# --------------------------------------------------------------------------


def _fgn_acf(h: float, lags: np.ndarray) -> np.ndarray:
    k = lags.astype(float)
    return 0.5 * (
        np.abs(k + 1) ** (2 * h) - 2 * k ** (2 * h) + np.abs(k - 1) ** (2 * h)
    )


def _stats(rng, h: float, num_series: int, num_steps: int) -> dict:
    """A stats dict (schema section 2) for series with Hurst exponent ``h``."""
    est = np.clip(rng.normal(h, 0.05, num_series), 0.02, 0.98)
    se = np.full(num_series, 0.5 / math.sqrt(num_steps)) * rng.uniform(
        0.8, 1.2, num_series
    )
    low, high = est - 1.96 * se, est + 1.96 * se
    below, above = float(np.mean(high < 0.5)), float(np.mean(low > 0.5))
    tail = np.clip(rng.normal(1.8, 0.12, num_series), 0.5, 2.6)
    alpha = np.clip(rng.normal(1.9, 0.06, num_series), 0.6, 2.0)
    lags = np.arange(21)
    acf = _fgn_acf(h, lags)
    normal = statistics.NormalDist()
    p = np.linspace(0.005, 0.995, 25)
    gauss = np.array([normal.inv_cdf(q) for q in p])
    cauchy = np.tan(np.pi * (p - 0.5))  # the alpha = 1 stable law
    coords = [0, 7, 21]
    scale = 3e-3
    return {
        "num_steps": num_steps,
        "num_series": num_series,
        "hurst": {
            "method": "whittle",
            "kind": "noise",
            "estimate": est.tolist(),
            "stderr": se.tolist(),
            "ci_low": low.tolist(),
            "ci_high": high.tolist(),
            "mean": float(est.mean()),
            "median": float(np.median(est)),
            "sd": float(est.std(ddof=1)),
            "fraction_below_half": below,
            "fraction_above_half": above,
            "classes": {
                "anti-persistent": int(np.sum(high < 0.5)),
                "uncorrelated": int(np.sum((low <= 0.5) & (high >= 0.5))),
                "persistent": int(np.sum(low > 0.5)),
            },
        },
        "hurst_methods": {
            name: {
                "mean": float(est.mean() + shift),
                "median": float(np.median(est) + shift),
                "sd": float(est.std()),
            }
            for name, shift in (("rs", 0.06), ("dfa", 0.02), ("local_whittle", -0.01))
        },
        "gaussianity": {
            "fdr": 0.05,
            "tests": {
                "shapiro": {"fraction_rejected": float(rng.uniform(0.2, 0.6))},
                "dagostino": {"fraction_rejected": float(rng.uniform(0.2, 0.6))},
            },
            "fraction_rejected_any": float(rng.uniform(0.3, 0.7)),
        },
        "tail_index": {
            "per_coordinate": {
                "estimate": tail.tolist(),
                "mean": float(tail.mean()),
                "median": float(np.median(tail)),
            },
            "pooled": {
                "estimate": float(rng.uniform(0.9, 1.2)),
                "warning": "pooling mixes scales across coordinates",
            },
            "hill": {
                "estimate": (tail + 1).tolist(),
                "mean": float(tail.mean() + 1),
                "median": float(np.median(tail) + 1),
            },
        },
        "stable": {
            "method": "mcculloch",
            "parameterization": "S1",
            "alpha": alpha.tolist(),
            "beta": rng.uniform(-0.2, 0.2, num_series).tolist(),
            "scale": rng.uniform(1e-3, 3e-3, num_series).tolist(),
            "loc": rng.normal(0, 1e-4, num_series).tolist(),
            "mean_alpha": float(alpha.mean()),
            "median_alpha": float(np.median(alpha)),
        },
        "marginal_verdict": {
            "gaussian": num_series // 2,
            "stable": num_series // 4,
            "neither": num_series - num_series // 2 - num_series // 4,
        },
        "acf": {
            "lags": lags.tolist(),
            "mean": acf.tolist(),
            "q10": (acf - 0.05).tolist(),
            "q90": (acf + 0.05).tolist(),
            "band": 1.96 / math.sqrt(num_steps),
        },
        "ljung_box": {"lags": 20, "fraction_rejected": below},
        "qq": {
            "coords": coords,
            "probabilities": p.tolist(),
            "sample": [
                (scale * (gauss * 1.1 + 0.02 * rng.standard_normal(p.size))).tolist()
                for _ in coords
            ],
            "gaussian": [(scale * gauss).tolist() for _ in coords],
            "stable": [(0.6 * scale * cauchy).tolist() for _ in coords],
        },
    }


def _drivers(rng, h: float) -> dict:
    drivers = {
        "brownian": {"params": {"sigma": 0.8}},
        "levy": {"params": {"alpha": 1.9, "sigma": 0.7, "beta": 0.0}},
        "fbm": {"params": {"hurst": h, "sigma": 0.75}},
    }
    for name, driver in drivers.items():
        marginal = rng.uniform(0.02, 0.06)
        acf = rng.uniform(0.02, 0.05) if name == "fbm" else rng.uniform(0.1, 0.2)
        driver.update(
            marginal_distance=float(marginal),
            acf_distance=float(acf),
            score=float(marginal + acf),
        )
    ranking = sorted(drivers, key=lambda n: drivers[n]["score"])
    return {
        "drivers": drivers,
        "best": ranking[0],
        "ranking": ranking,
        "score_definition": "marginal Wasserstein-1 distance plus L2 distance "
        "between autocorrelations; lower is closer",
        "confidence": float(rng.uniform(0.7, 0.99)),
    }


def _sweep(driver, parameter, values, mean, theory) -> dict:
    values, mean = np.asarray(values, float), np.asarray(mean, float)
    # Paths still in the well at the horizon are censored; the fixture's
    # means near the horizon have some.
    censored = np.where(mean > 300, 0.15, 0.0)
    return {
        "potential": "double well, barrier 0.5",
        "sigma": 0.7,
        "dt": 0.01,
        "num_paths": 400,
        "horizon": 2000.0,
        "driver": driver,
        "parameter": parameter,
        "values": values.tolist(),
        "mean_escape_time": mean.tolist(),
        "ci_low": (0.85 * mean).tolist(),
        "ci_high": (1.15 * mean).tolist(),
        "censored_fraction": censored.tolist(),
        "theory": theory,
    }


def make_summary(
    archs=ARCHS, protocols=PROTOCOLS, num_series=48, num_steps=600, seed=0
) -> dict:
    """A run summary (schema section 5) with consistent shapes."""
    rng = np.random.default_rng(seed)
    architectures = {}
    for arch, h in archs.items():
        train_acc = float(rng.uniform(0.84, 0.92))
        test_acc = float(train_acc - rng.uniform(0.005, 0.05))
        architectures[arch] = {
            "training": {
                "train_accuracy": train_acc,
                "test_accuracy": test_acc,
                "train_loss": float(rng.uniform(0.25, 0.4)),
                "test_loss": float(rng.uniform(0.3, 0.5)),
                "generalization_gap": train_acc - test_acc,
                "num_params": int(rng.integers(40_000, 300_000)),
                "seconds": float(rng.uniform(20, 80)),
                "history": {
                    "loss": (
                        np.array([0.9, 0.5, 0.35]) * rng.uniform(0.8, 1.2)
                    ).tolist(),
                    "accuracy": [0.6 + 0.3 * train_acc / 3, 0.81, train_acc],
                },
            },
            "recording": f"{arch}.h5",
            # Written by the CLI: escape with the drivers fitted to this SGN.
            "escape": {
                "fbm": _sweep("fbm", "hurst", [h], [20 * np.exp(4 * h)], None),
                "levy": _sweep("levy", "alpha", [1.9], [110.0], None),
                "brownian": _sweep("brownian", "sigma", [0.7], [400.0], None),
            },
            "protocols": {
                name: {
                    "protocol": name.split("/")[0],
                    "stats": _stats(rng, h + 0.03 * i, num_series, num_steps),
                    "drivers": _drivers(rng, h),
                }
                for i, name in enumerate(protocols)
            },
        }
    hs = np.linspace(0.2, 0.8, 7)
    sigmas = np.linspace(0.4, 1.0, 6)
    escape = {
        "hurst": _sweep(
            "fbm",
            "hurst",
            hs,
            20 * np.exp(4 * hs),
            {
                "name": "fGn escape rate",
                "values": (18 * np.exp(4.2 * hs)).tolist(),
                "source": "arXiv:2105.02062",
            },
        ),
        "alpha": _sweep(
            "levy", "alpha", [1.2, 1.4, 1.6, 1.8, 2.0], [15, 24, 40, 75, 160], None
        ),
        "brownian_sigma": _sweep(
            "brownian",
            "sigma",
            sigmas,
            np.exp(0.5 * 2 / sigmas**2) * 3,
            {
                "name": "Kramers",
                "values": (np.exp(2 * 0.5 / sigmas**2) * 2.8).tolist(),
                "source": "Kramers (1940)",
            },
        ),
    }
    return {
        "memsgd_version": "0.1.0",
        "created": "2026-12-03T18:00:00+00:00",
        "settings": {"archs": list(archs), "lr": 0.05, "batch_size": 64, "seed": 0},
        "versions": {"python": "3.11", "tensorflow": "2.21.0", "numpy": "2.4"},
        "dataset": {
            "name": "fashion_mnist_subset",
            "source": "embedded",
            "num_train": 12000,
            "num_test": 2000,
            "input_shape": [28, 28, 1],
            "num_classes": 10,
        },
        "architectures": architectures,
        "escape": escape,
        "findings": [
            "SGN has short-range memory: median H between 0.37 and 0.46.",
            "Gaussianity is rejected on 30-70% of coordinates.",
            "The fBM driver reproduces SGN best for every architecture.",
        ],
    }


# --------------------------------------------------------------------------
# Reading the page back.
# --------------------------------------------------------------------------


class _Page(html.parser.HTMLParser):
    """Collects tags, attributes, table cells and text of an HTML page."""

    def __init__(self, text: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.cells: list[dict] = []
        self.text: list[str] = []
        self.styles: list[str] = []
        self._cell: dict | None = None
        self._in_style = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "td" and "data-key" in attrs:
            self._cell = {**attrs, "text": ""}
        if tag == "style":
            self._in_style = True

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.cells.append(self._cell)
            self._cell = None
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data
        if self._in_style:
            self.styles.append(data)
        self.text.append(data)

    def rows(self, key: str = "architecture") -> list[dict]:
        """Headline-table cells regrouped into rows (data-value decoded)."""
        out: list[dict] = []
        for cell in self.cells:
            if cell["data-key"] == key:
                out.append({})
            if "data-value" in cell and out:
                raw = cell["data-value"]
                out[-1][cell["data-key"]] = (
                    json.loads(raw) if raw else None,
                    cell["text"],
                )
        return out


_URL_ATTRS = ("src", "href", "srcset", "action", "data", "poster", "background")


def external_references(text: str) -> list[str]:
    """Everything in the page that would load from outside the file."""
    page = _Page(text)
    found = []
    for tag, attrs in page.tags:
        if tag in ("script", "link", "iframe", "object", "embed", "base"):
            found.append(f"<{tag}>")
        for name in _URL_ATTRS:
            value = attrs.get(name)
            if value and not value.startswith(("data:", "#")):
                found.append(f"{tag}[{name}]={value[:60]}")
        if "style" in attrs and "url(" in attrs["style"]:
            found.append(f"{tag}[style] url(")
    found += [
        "<style> url(" for css in page.styles if "url(" in css or "@import" in css
    ]
    return found


@pytest.fixture(scope="module")
def summary():
    return make_summary()


@pytest.fixture(scope="module")
def written(summary, tmp_path_factory):
    """The full report of the fixture summary, written once for the module."""
    out = tmp_path_factory.mktemp("run")
    html_path = report.write_report(summary, out)
    paths = {
        name: out / "figures" / f"{name}.png"
        for name in report.FIGURE_NAMES
        if (out / "figures" / f"{name}.png").exists()
    }
    return out, html_path, paths


# --------------------------------------------------------------------------
# Figures and page.
# --------------------------------------------------------------------------


def test_every_figure_is_written_and_not_blank(written):
    _, html_path, paths = written
    # The fixture has every section, so every figure must be drawn with
    # nothing left out.
    assert list(paths) == list(report.FIGURE_NAMES)
    assert "Left out" not in html_path.read_text(encoding="utf-8")
    for name, path in paths.items():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        pixels = mpimg.imread(path)
        # A blank canvas is one colour; a drawn figure has ink (dark pixels)
        # and colour (pixels whose channels differ) on a white page.
        assert pixels.shape[0] > 200 and pixels.shape[1] > 400, name
        gray = pixels[..., :3].mean(axis=-1)
        assert np.mean(gray < 0.5) > 0.002, name
        assert np.mean(np.ptp(pixels[..., :3], axis=-1) > 0.2) > 0.001, name
        assert np.mean(gray > 0.95) > 0.3, name


def test_html_embeds_every_figure(written):
    _, html_path, paths = written
    page = _Page(html_path.read_text(encoding="utf-8"))
    images = {a["data-figure"]: a["src"] for t, a in page.tags if t == "img"}
    assert set(images) == set(paths)
    for name, src in images.items():
        prefix = "data:image/png;base64,"
        assert src.startswith(prefix)
        # The embedded bytes are the PNG on disk, byte for byte.
        assert base64.b64decode(src[len(prefix) :]) == paths[name].read_bytes()


def test_html_has_no_external_references(written):
    _, html_path, _ = written
    text = html_path.read_text(encoding="utf-8")
    assert external_references(text) == []
    assert "http://" not in text and "https://" not in text


def test_external_reference_check_catches_references():
    # Negative control for the check above: each of these must be caught.
    bad = [
        '<img src="https://example.org/a.png">',
        '<link rel="stylesheet" href="style.css">',
        "<script>alert(1)</script>",
        '<div style="background: url(a.png)"></div>',
        "<style>@import 'x.css';</style>",
    ]
    for snippet in bad:
        assert external_references(f"<html><body>{snippet}</body></html>"), snippet
    assert external_references('<img src="data:image/png;base64,AAAA">') == []


def test_html_shows_findings_and_captions(written, summary):
    _, html_path, _ = written
    text = " ".join(_Page(html_path.read_text(encoding="utf-8")).text)
    for sentence in summary["findings"]:
        assert sentence in text
    for info in report.FIGURES:
        assert info.caption in text
    # The drivers' score definition is carried into the caption.
    assert "lower is closer" in text


# --------------------------------------------------------------------------
# The table.
# --------------------------------------------------------------------------

# Row key -> where the schema puts the number (group-level, then arch-level).
_GROUP_PATHS = {
    "hurst_mean": ("stats", "hurst", "mean"),
    "hurst_median": ("stats", "hurst", "median"),
    "hurst_below_half": ("stats", "hurst", "fraction_below_half"),
    "hurst_above_half": ("stats", "hurst", "fraction_above_half"),
    "gaussianity_rejected": ("stats", "gaussianity", "fraction_rejected_any"),
    "tail_index_median": ("stats", "tail_index", "per_coordinate", "median"),
    "tail_index_pooled": ("stats", "tail_index", "pooled", "estimate"),
    "stable_alpha_median": ("stats", "stable", "median_alpha"),
    "best_driver": ("drivers", "best"),
    "driver_confidence": ("drivers", "confidence"),
    "num_steps": ("stats", "num_steps"),
    "num_series": ("stats", "num_series"),
}
_ARCH_PATHS = {
    "train_accuracy": ("training", "train_accuracy"),
    "test_accuracy": ("training", "test_accuracy"),
    "generalization_gap": ("training", "generalization_gap"),
}


def _at(tree, path):
    for key in path:
        tree = tree[key]
    return tree


def _expected_rows(summary):
    """The table written out by hand from the schema's paths."""
    rows = []
    for arch, entry in summary["architectures"].items():
        for name, group in entry["protocols"].items():
            row = {"architecture": arch, "protocol": name}
            row.update({k: _at(group, p) for k, p in _GROUP_PATHS.items()})
            row.update({k: _at(entry, p) for k, p in _ARCH_PATHS.items()})
            rows.append(row)
    return rows


def test_table_numbers_equal_the_summary(summary):
    rows = report.summary_table(summary)
    expected = _expected_rows(summary)
    assert len(rows) == len(ARCHS) * len(PROTOCOLS)
    for row, want in zip(rows, expected):
        assert set(row) == set(_table.ROW_KEYS)
        # Copied, not recomputed: equality is exact.
        assert {k: row[k] for k in want} == want
        assert row["missing"] == []
        assert row["protocol_kind"] == want["protocol"].split("/")[0]


def test_table_sees_a_changed_summary(summary):
    # Negative control: the comparison above must notice a changed number.
    changed = copy.deepcopy(summary)
    changed["architectures"]["lenet"]["protocols"]["in_training"]["stats"]["hurst"][
        "median"
    ] += 0.01
    rows = report.summary_table(changed)
    assert [r["hurst_median"] for r in rows] != [
        r["hurst_median"] for r in _expected_rows(summary)
    ]


def test_html_table_cells_carry_the_table(written, summary):
    _, html_path, _ = written
    shown = _Page(html_path.read_text(encoding="utf-8")).rows()
    rows = report.summary_table(summary)
    assert len(shown) == len(rows)
    columns = {c.key: c for c in report.COLUMNS}
    for cells, row in zip(shown, rows):
        assert set(cells) == set(columns)
        for key, (value, text) in cells.items():
            assert value == row[key], key
            assert text == columns[key].format(row[key]), key


def test_in_training_rows_come_first():
    # The CLI may record the frozen group first; the table still reads
    # in-training then frozen for each architecture.
    s = _small(protocols=("frozen", "in_training"))
    assert list(s["architectures"]["mlp"]["protocols"]) == ["frozen", "in_training"]
    rows = report.summary_table(s)
    assert [(r["architecture"], r["protocol"]) for r in rows] == [
        ("mlp", "in_training"),
        ("mlp", "frozen"),
        ("lenet", "in_training"),
        ("lenet", "frozen"),
    ]


def test_format_table_lines_up(summary):
    rows = report.summary_table(summary)
    text = report.format_table(rows)
    lines = text.splitlines()
    assert len(lines) == len(rows) + 2  # header, rule, rows
    assert lines[0].split()[0] == "architecture"
    # 0.4213 -> "0.421": the CLI shows the HTML's rounding.
    median = f"{rows[0]['hurst_median']:.3f}"
    assert median in lines[2]
    assert _table.COLUMNS[-1].format(0.0312) == "+3.1 pp"
    assert _table.COLUMNS[4].format(None) == _table.MISSING


# --------------------------------------------------------------------------
# Missing sections: skipped with a note, never a crash.
# --------------------------------------------------------------------------


def _small(**kwargs):
    kwargs.setdefault("archs", {"mlp": 0.4, "lenet": 0.45})
    kwargs.setdefault("num_series", 24)
    return make_summary(**kwargs)


def _drop_frozen(s):
    for entry in s["architectures"].values():
        del entry["protocols"]["frozen/epoch_003"]


def _null_hurst(s):
    stats = s["architectures"]["mlp"]["protocols"]["in_training"]["stats"]
    stats["hurst"] = None
    stats["error"] = "series too short for the Whittle estimator"


def _null_drivers(s):
    group = s["architectures"]["lenet"]["protocols"]["in_training"]
    group["drivers"] = None
    group["error"] = "driver fit did not converge"


def _no_escape(s):
    del s["escape"]


def _partial_escape(s):
    s["escape"]["alpha"] = None
    s["escape"]["error"] = "levy sampler unavailable"
    s["escape"]["hurst"]["theory"] = None


def _no_fitted_escape(s):
    for entry in s["architectures"].values():
        del entry["escape"]


def _no_protocols(s):
    s["architectures"]["lenet"]["protocols"] = {}


def _no_findings(s):
    s["findings"] = []


def _failed_run(s):
    s["status"] = "failed: FloatingPointError: NaN loss at step 12"


def _nan_numbers(s):
    s["architectures"]["mlp"]["training"]["test_accuracy"] = float("nan")
    stats = s["architectures"]["mlp"]["protocols"]["frozen/epoch_003"]["stats"]
    stats["hurst"]["estimate"][:5] = [None] * 5


@pytest.mark.parametrize(
    ("changes", "missing_figures", "notes"),
    [
        (
            (
                _null_hurst,
                _null_drivers,
                _partial_escape,
                _no_findings,
                _nan_numbers,
                _failed_run,
            ),
            set(),
            (
                "NaN loss at step 12",
                "series too short for the Whittle estimator",
                "driver fit did not converge",
                "levy sampler unavailable",
                "No findings in the summary",
                "test_accuracy&#x27; is not a finite number",
            ),
        ),
        (
            (_drop_frozen, _no_escape, _no_protocols, _no_fitted_escape),
            {"escape", "escape_fitted"},
            (
                "no escape sweep: &#x27;escape&#x27; is missing",
                "no recorded protocol",
                "no per-architecture escape times",
            ),
        ),
    ],
    ids=["null-sections", "absent-sections"],
)
def test_missing_sections_are_noted_not_fatal(
    tmp_path, changes, missing_figures, notes
):
    # Several gaps per summary keep the test quick (a full report takes
    # seconds); each gap's note is checked separately.
    s = _small()
    for change in changes:
        change(s)
    path = report.write_report(s, tmp_path)
    text = path.read_text(encoding="utf-8")
    drawn = {p.stem for p in (tmp_path / "figures").glob("*.png")}
    assert drawn == set(report.FIGURE_NAMES) - missing_figures
    for note in notes:
        assert note in text
    assert external_references(text) == []


@pytest.mark.parametrize(
    "change",
    [
        _drop_frozen,
        _null_hurst,
        _null_drivers,
        _no_escape,
        _partial_escape,
        _no_protocols,
        _no_findings,
        _nan_numbers,
        _failed_run,
    ],
)
def test_each_gap_alone_keeps_the_table(change):
    s = _small()
    change(s)
    rows = report.summary_table(s)
    assert {r["architecture"] for r in rows} == {"mlp", "lenet"}
    text = report.format_table(rows)
    assert len(text.splitlines()) == len(rows) + 2


_MUTATIONS = ("delete", None, "garbage", float("nan"), [], {}, -1.0, [None, None])


def _key_paths(tree, prefix=()):
    """Every path of dict keys in ``tree`` (list items are not entered)."""
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield (*prefix, key)
            yield from _key_paths(value, (*prefix, key))


def _mutate(summary, path, mutation):
    node = summary
    for key in path[:-1]:
        node = node[key]
    if mutation == "delete":
        del node[path[-1]]
    else:
        node[path[-1]] = copy.deepcopy(mutation)


def _draw_every_figure(summary):
    """Each drawing function directly, bypassing draw_all's safety net,
    and every part of the page that reads the summary."""
    rows = report.summary_table(summary)
    report.format_table(rows)
    _html._header(summary)
    _html._findings(summary)
    _html._training_table(summary, report.arch_colors(summary["architectures"]))
    _html.table_block(rows, report.arch_colors(summary["architectures"]))
    ctx = _figures._Context(summary)
    for name in report.FIGURE_NAMES:
        ctx.figure = name
        _figures._DRAW[name](ctx)


# Cases the random search below once found (each crashed a figure).
_FOUND = [
    [
        (
            "architectures",
            "mlp",
            "protocols",
            "in_training",
            "stats",
            "hurst",
            "ci_high",
        ),
        [],
    ],
    [("architectures", "mlp", "protocols", "in_training", "stats", "acf", "q90"), []],
    [
        ("architectures", "mlp", "protocols", "in_training", "stats", "qq", "coords"),
        -1.0,
    ],
]


@pytest.mark.parametrize(("path", "mutation"), _FOUND)
def test_damaged_sections_found_by_search(path, mutation):
    s = _small(archs={"mlp": 0.4}, num_series=12)
    _mutate(s, path, mutation)
    _draw_every_figure(s)


def _random_damage(seed: int, trials: int) -> None:
    base = _small(archs={"mlp": 0.4}, num_series=12)
    # "architectures" itself is validated (a bad one raises by design).
    paths = [p for p in _key_paths(base) if p != ("architectures",)]
    rng = np.random.default_rng(seed)
    for _ in range(trials):
        s = copy.deepcopy(base)
        done = []
        for _ in range(3):
            path = paths[rng.integers(len(paths))]
            mutation = _MUTATIONS[rng.integers(len(_MUTATIONS))]
            try:
                _mutate(s, path, mutation)
            except (KeyError, TypeError):
                continue  # an earlier mutation removed the parent
            done.append((path, mutation))
        try:
            _draw_every_figure(s)
        except Exception as exc:  # report which damage broke what
            pytest.fail(f"{type(exc).__name__}: {exc} after {done}")


def test_randomly_damaged_summaries_draw():
    # Three random deletions / nulls / wrong types per summary; a figure
    # function that trusts a shape or a type raises here. Seeded, so a
    # failure reproduces; the slow test below searches wider.
    _random_damage(seed=2024, trials=8)


@pytest.mark.slow
def test_randomly_damaged_summaries_draw_wide():
    _random_damage(seed=7, trials=150)


def test_null_sections_blank_their_table_cells():
    s = _small()
    _null_hurst(s)
    _null_drivers(s)
    rows = {(r["architecture"], r["protocol"]): r for r in report.summary_table(s)}
    mlp = rows["mlp", "in_training"]
    assert mlp["hurst_median"] is None and mlp["hurst_below_half"] is None
    assert mlp["tail_index_median"] is not None  # other sections untouched
    # One sentence for the null section, not one per column it blanks.
    assert [m for m in mlp["missing"] if "series too short" in m] == [
        "'stats.hurst' is null (series too short for the Whittle estimator)"
    ]
    lenet = rows["lenet", "in_training"]
    assert lenet["best_driver"] is None and lenet["driver_confidence"] is None
    assert any("did not converge" in m for m in lenet["missing"])
    assert rows["lenet", "frozen/epoch_003"]["missing"] == []


def test_empty_run_still_gives_a_page(tmp_path):
    path = report.write_report({"architectures": {}}, tmp_path)
    text = path.read_text(encoding="utf-8")
    assert "Not drawn" in text
    assert report.summary_table({"architectures": {}}) == []
    assert not list((tmp_path / "figures").glob("*.png"))


@pytest.mark.parametrize(
    ("bad", "error", "message"),
    [
        ([], TypeError, "`summary` must be a dict"),
        ({"settings": {}}, ValueError, "Received keys: ['settings']"),
        ({"architectures": [1]}, TypeError, "Received: type list"),
    ],
)
def test_bad_summary_is_rejected_by_name(tmp_path, bad, error, message):
    with pytest.raises(error) as info:
        report.write_report(bad, tmp_path)
    assert message in str(info.value)


# --------------------------------------------------------------------------
# Comparison.
# --------------------------------------------------------------------------


def test_comparison_puts_runs_side_by_side(tmp_path):
    runs = {"lr=0.05": _small(seed=1), "lr=0.1": _small(seed=2)}
    runs["lr=0.1"]["settings"]["lr"] = 0.1
    _drop_frozen(runs["lr=0.1"])
    path = report.write_comparison(runs, tmp_path)
    assert path == tmp_path / "comparison.html"
    text = path.read_text(encoding="utf-8")
    assert external_references(text) == []
    page = _Page(text)
    images = [a["data-figure"] for t, a in page.tags if t == "img"]
    assert images == ["compare_metrics", "compare_hurst"]
    for name in images:
        assert (tmp_path / "figures" / f"{name}.png").stat().st_size > 5000

    shown = page.rows(key="run")
    expected = report.comparison_table(runs)
    assert len(shown) == len(expected) == 4 + 2
    for cells, row in zip(shown, expected):
        for key, (value, _) in cells.items():
            assert value == row[key], key
    # Each run's rows are its own summary's rows.
    assert [r for r in expected if r["run"] == "lr=0.1"] == [
        {"run": "lr=0.1", **r} for r in report.summary_table(runs["lr=0.1"])
    ]
    # Only the setting that differs is listed as differing.
    assert '<td class="text">lr</td>' in text
    assert '<td class="text">batch_size</td>' not in text


def test_comparison_rejects_no_runs(tmp_path):
    with pytest.raises(ValueError, match="non-empty dict"):
        report.write_comparison({}, tmp_path)
    with pytest.raises(TypeError, match=r"summaries\['a'\]"):
        report.write_comparison({"a": None}, tmp_path)


# --------------------------------------------------------------------------
# Style and reproducibility.
# --------------------------------------------------------------------------


def test_architecture_colours_are_fixed_and_distinct():
    first = report.arch_colors(["resnet20", "mine", "mlp", "theirs"])
    second = report.arch_colors(["mlp", "resnet20"])
    assert first["mlp"] == second["mlp"] and first["resnet20"] == second["resnet20"]
    assert len(set(first.values())) == 4


def test_fgn_reference_curve_matches_closed_form():
    # rho(1) = 2^{2H-1} - 1 for fGn (Beran 1994, eq. 2.8 at k = 1); white
    # noise (H = 1/2) has rho(k) = 0 for k >= 1. Exact up to rounding.
    lags = np.arange(0, 6)
    rho = _figures._fgn_acf(0.3, lags)
    assert rho[0] == pytest.approx(1.0, abs=1e-12)
    assert rho[1] == pytest.approx(2 ** (2 * 0.3 - 1) - 1, abs=1e-12)
    assert np.all(rho[1:] < 0)
    assert np.allclose(_figures._fgn_acf(0.5, lags)[1:], 0.0, atol=1e-12)


def test_figures_are_reproducible_and_leave_pyplot_alone(tmp_path):
    # In a fresh interpreter, so that nothing else has imported pyplot or
    # TensorFlow: drawing leaves the user's matplotlib state alone, and the
    # same summary gives byte-identical PNGs here and there.
    script = textwrap.dedent(
        """
        import json, pathlib, sys
        import matplotlib
        keys = ("font.size", "axes.grid", "axes.spines.top", "savefig.dpi")
        before = [matplotlib.rcParams[k] for k in keys]
        from memsgd import report
        s = json.loads(pathlib.Path(sys.argv[1]).read_text())
        paths = report.figures(s, sys.argv[2])
        assert "matplotlib.pyplot" not in sys.modules
        assert "tensorflow" not in sys.modules
        assert [matplotlib.rcParams[k] for k in keys] == before
        print(json.dumps({k: str(v) for k, v in paths.items()}))
        """
    )
    summary = _small(archs={"mlp": 0.4}, num_series=12)
    data = tmp_path / "summary.json"
    data.write_text(json.dumps(summary))
    done = subprocess.run(
        [sys.executable, "-c", script, str(data), str(tmp_path / "there")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    there = json.loads(done.stdout.strip().splitlines()[-1])
    here = report.figures(summary, tmp_path / "here")
    assert list(there) == list(here) == list(report.FIGURE_NAMES)
    for name, path in here.items():
        assert pathlib.Path(there[name]).read_bytes() == path.read_bytes(), name


@pytest.mark.slow
def test_report_draws_real_drivers_and_escape(tmp_path):
    # End to end through the package's own estimators (TensorFlow): stats,
    # fitted drivers and short escape sweeps; every figure drawn, no gaps.
    stats = pytest.importorskip("memsgd.stats")
    sde = pytest.importorskip("memsgd.sde")
    if not all(hasattr(sde, f) for f in ("fit_drivers", "escape_sweep")):
        pytest.skip("memsgd.sde has no fit_drivers / escape_sweep yet")
    rng = np.random.default_rng(3)
    e = rng.standard_t(5, (513, 12))
    x = (e[1:] - 0.3 * e[:-1]).astype(np.float32)  # anti-persistent, heavy
    common = dict(dt=0.01, num_steps=300, num_paths=32, seed=0)
    sweeps = {
        "hurst": sde.escape_sweep("fbm", "hurst", (0.3, 0.7), sigma=0.5, **common),
        "alpha": sde.escape_sweep("levy", "alpha", (1.5, 2.0), sigma=0.5, **common),
        "brownian_sigma": sde.escape_sweep("brownian", "sigma", (0.4, 0.6), **common),
    }
    fitted = {
        "fbm": sde.escape_sweep("fbm", "hurst", (0.4,), sigma=0.5, **common),
        "levy": sde.escape_sweep("levy", "alpha", (1.8,), sigma=0.5, **common),
        "brownian": sde.escape_sweep("brownian", "sigma", (0.5,), **common),
    }
    s = _small(archs={"mlp": 0.4}, protocols=("in_training",), num_series=12)
    s["architectures"]["mlp"]["protocols"]["in_training"] = {
        "protocol": "in_training",
        "stats": stats.analyze(x, seed=0).to_dict(),
        "drivers": sde.fit_drivers(x, seed=0, num_bootstrap=20).to_dict(),
    }
    s["architectures"]["mlp"]["escape"] = {k: v.to_dict() for k, v in fitted.items()}
    s["escape"] = {k: v.to_dict() for k, v in sweeps.items()}
    s = json.loads(json.dumps(s))
    path = report.write_report(s, tmp_path)
    drawn = {p.stem for p in (tmp_path / "figures").glob("*.png")}
    assert drawn == set(report.FIGURE_NAMES)
    text = path.read_text(encoding="utf-8")
    assert "Left out" not in text
    assert "Theory: " in text
    assert external_references(text) == []


def test_report_reads_summary_json_round_trip(tmp_path, summary):
    # The CLI hands over json.load(summary.json): tuples become lists and
    # floats round-trip exactly, so the table is unchanged.
    loaded = json.loads(json.dumps(summary))
    assert report.summary_table(loaded) == report.summary_table(summary)


def test_out_dir_may_be_a_nested_str(tmp_path):
    nested = tmp_path / "a" / "b"
    path = report.write_report({"architectures": {}}, str(nested))
    assert isinstance(path, pathlib.Path) and path.parent == nested


def test_unanalysed_in_training_gives_way_to_frozen(tmp_path):
    # The default run probes in training too rarely for statistics: every
    # figure must then show the frozen protocol rather than go missing, and
    # the Hurst histogram must not keep an empty in-training column.
    s = _small()
    for entry in s["architectures"].values():
        group = entry["protocols"]["in_training"]
        group["stats"] = group["drivers"] = None
        group["error"] = "only 4 rows with an exact full gradient"
    assert report.summary_table(s)  # still one row per group
    ctx = _figures._Context(s)
    assert ctx.primary == "frozen"
    assert {g.kind for g in ctx.primary_groups()} == {"frozen"}
    ctx.figure = "hurst_distribution"
    fig = _figures._DRAW["hurst_distribution"](ctx)
    assert len(fig.axes) == 2  # two architectures, one protocol column
    assert "in training: no Hurst estimates, not shown" in ctx.notes[ctx.figure]
    report.write_report(s, tmp_path)
    drawn = {p.stem for p in (tmp_path / "figures").glob("*.png")}
    assert drawn == set(report.FIGURE_NAMES)
