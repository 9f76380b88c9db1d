"""``memsgd compare``: several runs side by side, from their summaries."""

from __future__ import annotations

import json
import logging
import pathlib
import textwrap
from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from memsgd.report import _figures, _html, _table
from memsgd.report import _style as st
from memsgd.report import _summary as S

logger = logging.getLogger(__name__)

RUN_COLUMN = _table.Column("run", "run", _table._text, "run label")
COLUMNS = (RUN_COLUMN, *_table.COLUMNS)

COMPARE_FIGURES = (
    _figures.FigureInfo(
        "compare_metrics",
        "Headline numbers by run",
        "One line per architecture across runs (solid: in training; dashed, "
        "hollow: frozen weights). Look for the memory (Ĥ below ½, CI share) "
        "and the tails (stable α, rejection) moving with what the runs vary.",
    ),
    _figures.FigureInfo(
        "compare_hurst",
        "Ĥ over coordinates by run",
        "Boxes: quartiles of the per-coordinate Ĥ, whiskers 5–95%. The "
        "dashed line is H = ½ (white noise).",
    ),
)

_PANELS = (
    ("hurst_median", "median Ĥ", 1.0, True),
    ("hurst_below_half", "CI below ½ (% of coords)", 100.0, True),
    ("stable_alpha_median", "median stable α", 1.0, True),
    ("gaussianity_rejected", "Gaussianity rejected (%)", 100.0, True),
    ("test_accuracy", "test accuracy (%)", 100.0, False),
    ("generalization_gap", "generalisation gap (pp)", 100.0, False),
)


def _validate(summaries) -> None:
    if not isinstance(summaries, Mapping) or not summaries:
        kind = type(summaries).__name__
        size = f" of length {len(summaries)}" if isinstance(summaries, Mapping) else ""
        raise ValueError(
            "`summaries` must be a non-empty dict of run label to summary. "
            f"Received: {kind}{size}"
        )
    for label, summary in summaries.items():
        S.validate_summary(summary, name=f"summaries[{label!r}]")


def comparison_table(summaries: Mapping[str, Mapping]) -> list[dict]:
    """:func:`summary_table` rows of every run, each with a ``"run"`` key."""
    _validate(summaries)
    return [
        {"run": str(label), **row}
        for label, summary in summaries.items()
        for row in _table.summary_table(summary)
    ]


def _differing_settings(summaries: Mapping[str, Mapping]) -> dict[str, dict]:
    """Setting -> {run: value} for the settings that differ between runs."""
    settings: dict[str, Mapping] = {}
    for label, summary in summaries.items():
        value = summary.get("settings")
        settings[label] = value if isinstance(value, Mapping) else {}
    keys = []
    for values in settings.values():
        keys += [k for k in values if k not in keys]
    out = {}
    for key in keys:
        per_run = {label: values.get(key) for label, values in settings.items()}
        encoded = {json.dumps(v, sort_keys=True, default=str) for v in per_run.values()}
        if len(encoded) > 1:
            out[key] = per_run
    return out


def _wrap(label: str, width: int = 16) -> str:
    """A run label broken over lines of about ``width`` characters."""
    return "\n".join(textwrap.wrap(label, width)) or label


def _metrics_figure(rows, runs, colors) -> Figure | None:
    archs = list(colors)
    kinds = [
        k
        for k in (S.IN_TRAINING, S.FROZEN)
        if any(r["protocol_kind"] == k for r in rows)
    ]
    if not kinds:
        return None
    fig = st.new_figure(7.8, 4.8)
    axes = fig.subplots(2, 3, sharex=True).ravel()
    x = np.arange(len(runs))
    for ax, (key, label, scale, per_protocol) in zip(axes, _PANELS):
        for arch in archs:
            for kind in kinds if per_protocol else kinds[:1]:
                ys = []
                for run in runs:
                    found = [
                        r
                        for r in rows
                        if r["run"] == run
                        and r["architecture"] == arch
                        and r["protocol_kind"] == kind
                    ]
                    value = found[-1][key] if found else None
                    ys.append(np.nan if value is None else scale * value)
                if not np.isfinite(np.array(ys)).any():
                    continue
                filled = kind == S.IN_TRAINING or not per_protocol
                ax.plot(
                    x,
                    ys,
                    color=colors[arch],
                    marker="o",
                    ms=5,
                    ls=st.protocol_linestyle(kind if per_protocol else S.IN_TRAINING),
                    mfc=colors[arch] if filled else "white",
                    mew=1.2,
                )
        if key == "hurst_median":
            ax.axhline(0.5, color=st.REFERENCE_COLOR, ls="--", lw=0.9)
        if key == "stable_alpha_median":
            ax.axhline(2.0, color=st.MUTED, lw=1.0)
        ax.set_ylabel(label)
        ax.set_xticks(x, [_wrap(r) for r in runs])
        ax.set_xlim(-0.4, len(runs) - 0.6)
        ax.grid(axis="x", visible=False)
    for ax in axes[3:]:
        # Run labels are long: slant them so that neighbours do not overlap.
        if len(runs) > 1:
            ticks = ax.get_xticklabels()
            for tick in ticks:
                tick.set(rotation=30, ha="right", rotation_mode="anchor")
    handles = [Line2D([], [], color=colors[a], marker="o", label=a) for a in archs]
    handles += [
        Line2D(
            [],
            [],
            color="#555555",
            marker="o",
            ls=st.protocol_linestyle(k),
            mfc="#555555" if k == S.IN_TRAINING else "white",
            label=st.protocol_label(k),
        )
        for k in kinds
    ]
    fig.legend(handles=handles, loc="outside upper right", ncols=len(handles))
    return fig


def _hurst_figure(summaries, runs, colors) -> Figure | None:
    boxes = []
    shown = set()
    for run in runs:
        summary = summaries[run]
        primary = S.primary_kind(summary)
        if primary:
            shown.add(primary)
        for arch in colors:
            group = S.group_of(summary, arch, primary or "")
            if group is None:
                continue
            est = S.finite(S.get(group.stats, "hurst", "estimate"))
            if est.size:
                boxes.append((run, arch, est))
    if not boxes:
        return None
    archs = [a for a in colors if any(b[1] == a for b in boxes)]
    width = 0.8 / len(archs)
    fig = st.new_figure(max(4.5, 1.1 * len(runs) * max(1, len(archs) / 2) + 1.2), 2.8)
    ax = fig.subplots()
    for run, arch, est in boxes:
        pos = runs.index(run) - 0.4 + width * (archs.index(arch) + 0.5)
        bp = ax.boxplot(
            est,
            positions=[pos],
            widths=width * 0.8,
            whis=(5, 95),
            patch_artist=True,
            showfliers=False,
            medianprops={"color": "white", "lw": 1.4},
            whiskerprops={"color": colors[arch]},
            capprops={"color": colors[arch]},
        )
        for patch in bp["boxes"]:
            patch.set(facecolor=colors[arch], edgecolor=colors[arch])
    ax.axhline(0.5, color=st.REFERENCE_COLOR, ls="--", lw=0.9)
    ax.set_xticks(range(len(runs)), [_wrap(r) for r in runs])
    ax.set_xlim(-0.6, len(runs) - 0.4)
    ax.set_ylabel("Ĥ per coordinate")
    ax.set_title(
        "protocol: " + ", ".join(st.protocol_label(k) for k in sorted(shown)),
        loc="left",
        fontsize="small",
    )
    ax.grid(axis="x", visible=False)
    handles = [Line2D([], [], color=colors[a], lw=6, label=a) for a in archs]
    fig.legend(handles=handles, loc="outside upper right", ncols=len(handles))
    return fig


def write_comparison(summaries: Mapping[str, Mapping], out_dir) -> pathlib.Path:
    """Writes ``comparison.html`` putting several runs side by side.

    The page holds the settings that differ between the runs, the headline
    table of every run (:func:`summary_table` rows with a ``run`` column),
    and two figures in ``out_dir/figures/``: ``compare_metrics`` (median Ĥ,
    share of coordinates with CI below ½, median stable α, Gaussianity
    rejection rate, test accuracy and generalisation gap per run and
    architecture) and ``compare_hurst`` (per-coordinate Ĥ boxes). Colours
    per architecture match the single-run report.

    Args:
        summaries: run label -> the ``summary.json`` dict of that run; the
            order of the dict is the order on the page and the x axes.
        out_dir: folder to write into; created if needed.

    Returns:
        The path of ``out_dir/comparison.html``.

    Raises:
        ValueError: ``summaries`` is empty or not a dict.
        TypeError, ValueError: one of the summaries is not a run summary.
    """
    _validate(summaries)
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    runs = [str(label) for label in summaries]
    summaries = {str(k): v for k, v in summaries.items()}
    rows = comparison_table(summaries)
    archs = []
    for summary in summaries.values():
        archs += [a for a in S.architectures(summary) if a not in archs]
    colors = st.arch_colors(archs)

    paths, notes = {}, {}
    for info, draw in zip(
        COMPARE_FIGURES,
        (
            lambda: _metrics_figure(rows, runs, colors),
            lambda: _hurst_figure(summaries, runs, colors),
        ),
    ):
        with st.style():
            fig = draw()
            if fig is None:
                notes[info.name] = ["no run has the statistics this figure needs"]
            else:
                paths[info.name] = st.save(fig, out / "figures" / f"{info.name}.png")

    body = [
        "<header>",
        "<h1>memsgd comparison</h1>",
        f'<p class="meta">{_html.esc(" · ".join(runs))}</p>',
        "</header>",
        '<section id="settings">',
        "<h2>What differs between the runs</h2>",
    ]
    differing = _differing_settings(summaries)
    if differing:
        head = '<th class="text">setting</th>' + "".join(
            f'<th class="text">{_html.esc(r)}</th>' for r in runs
        )
        lines = []
        for key, per_run in differing.items():
            cells = "".join(
                f'<td class="text">{_html.esc(json.dumps(per_run[r], default=str))}'
                "</td>"
                for r in runs
            )
            lines.append(f'<tr><td class="text">{_html.esc(key)}</td>{cells}</tr>')
        body.append(
            f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(lines)}</tbody></table></div>"
        )
    else:
        body.append('<p class="muted">The runs have the same settings.</p>')
    body.append("</section>")

    body += ['<section id="table">', "<h2>Per run, architecture and protocol</h2>"]
    body.append(
        _html.table_block(rows, colors, COLUMNS, group_key="run", repeat_keys=("run",))
    )
    body.append("</section>")

    findings = []
    for run, summary in summaries.items():
        sentences = summary.get("findings")
        for sentence in sentences if isinstance(sentences, list) else []:
            if isinstance(sentence, str):
                findings.append(
                    f"<li><b>{_html.esc(run)}</b>: {_html.esc(sentence)}</li>"
                )
    if findings:
        body += [
            '<section id="findings">',
            "<h2>Findings of each run</h2>",
            f'<ul class="findings">{"".join(findings)}</ul>',
            "</section>",
        ]

    body += ['<section id="figures">', "<h2>Figures</h2>"]
    for info in COMPARE_FIGURES:
        body.append(
            _html.figure_block(info, paths.get(info.name), notes.get(info.name, []))
        )
    body.append("</section>")
    body.append(
        "<footer>memsgd compare · method: Tan, Zhang &amp; Liu, "
        "arXiv:2105.02062</footer>"
    )

    path = out / "comparison.html"
    path.write_text(_html.page("memsgd comparison", body), encoding="utf-8")
    logger.info("wrote %s comparing %d runs", path, len(runs))
    return path
