"""The standalone HTML report: findings, table, figures, gaps, settings.

The page has inline CSS, its figures embedded as ``data:`` URIs, and no
script, link or other reference outside itself, so it opens from a copy of
the file anywhere.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import pathlib
from collections.abc import Iterable, Mapping, Sequence

from memsgd.report import _figures, _table
from memsgd.report import _style as st
from memsgd.report import _summary as S

logger = logging.getLogger(__name__)

CSS = """
:root { --ink: #1f2328; --muted: #6b7280; --rule: #e5e7eb; --soft: #f6f7f9; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff;
  font: 15px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; }
main { max-width: 1060px; margin: 0 auto; padding: 28px 24px 60px; }
h1 { font-size: 1.55rem; margin: 0 0 4px; font-weight: 650; }
h2 { font-size: 1.15rem; margin: 34px 0 10px; padding-bottom: 4px;
  border-bottom: 1px solid var(--rule); font-weight: 620; }
h3 { font-size: 1rem; margin: 0 0 6px; font-weight: 600; }
.meta, .muted, figcaption, .legend { color: var(--muted); }
.meta { font-size: 0.88rem; margin: 0; }
.findings { background: var(--soft); border-left: 4px solid #0072B2;
  padding: 12px 18px 12px 30px; margin: 18px 0 0; }
.findings li { margin: 4px 0; }
table { border-collapse: collapse; font-size: 0.84rem; width: 100%;
  font-variant-numeric: tabular-nums; }
th, td { padding: 5px 8px; border-bottom: 1px solid var(--rule);
  text-align: right; white-space: nowrap; }
th { font-weight: 600; border-bottom: 1.5px solid #9ca3af; vertical-align: bottom; }
th.text, td.text { text-align: left; }
tbody + tbody { border-top: 1.5px solid #d1d5db; }
td.repeat { color: #b8bcc4; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px;
  margin-right: 6px; vertical-align: baseline; }
.scroll { overflow-x: auto; }
.legend { font-size: 0.8rem; margin: 8px 0 0; }
.legend b { color: var(--ink); font-weight: 600; }
figure { margin: 26px 0 0; }
figure img { width: 100%; height: auto; display: block;
  border: 1px solid var(--rule); border-radius: 3px; }
figcaption { font-size: 0.88rem; margin-top: 6px; }
.note { font-size: 0.82rem; color: #92400e; background: #fffbeb;
  border-left: 3px solid #f59e0b; padding: 4px 10px; margin: 6px 0 0; }
.note ul { margin: 2px 0; padding-left: 18px; }
details { margin-top: 10px; }
summary { cursor: pointer; color: var(--muted); }
dl.kv { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px;
  font-size: 0.84rem; margin: 10px 0; }
dl.kv dt { color: var(--muted); }
dl.kv dd { margin: 0; font-family: ui-monospace, Menlo, Consolas, monospace;
  word-break: break-word; }
footer { margin-top: 40px; font-size: 0.8rem; color: var(--muted); }
"""


def esc(value) -> str:
    return html.escape(str(value), quote=True)


def page(title: str, body: Iterable[str]) -> str:
    """A complete HTML document with the report's inline CSS."""
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{esc(title)}</title>",
            f"<style>{CSS}</style>",
            "</head>",
            "<body><main>",
            *body,
            "</main></body>",
            "</html>",
            "",
        ]
    )


def data_uri(path: pathlib.Path) -> str:
    """The PNG at ``path`` as a base64 ``data:`` URI."""
    encoded = base64.b64encode(path.read_bytes()).decode("ascii")
    return f"data:image/png;base64,{encoded}"


def note_block(messages: Sequence[str]) -> str:
    """A visible note listing what was left out and why."""
    if not messages:
        return ""
    items = "".join(f"<li>{esc(m)}</li>" for m in messages)
    return f'<div class="note">Left out:<ul>{items}</ul></div>'


def figure_block(
    info: _figures.FigureInfo,
    path: pathlib.Path | None,
    notes: Sequence[str],
    extra_caption: str = "",
) -> str:
    """One ``<figure>``: heading, embedded image, caption and notes."""
    parts = [f'<figure id="fig-{esc(info.name)}">', f"<h3>{esc(info.title)}</h3>"]
    if path is not None:
        parts.append(
            f'<img src="{data_uri(path)}" alt="{esc(info.title)}" '
            f'data-figure="{esc(info.name)}">'
        )
        caption = info.caption + (f" {extra_caption}" if extra_caption else "")
        parts.append(f"<figcaption>{esc(caption)}</figcaption>")
    else:
        parts.append('<p class="muted">Not drawn: the summary has no data for it.</p>')
    parts.append(note_block(notes))
    parts.append("</figure>")
    return "\n".join(p for p in parts if p)


def table_block(
    rows: Sequence[Mapping],
    colors: Mapping[str, str],
    columns: Sequence[_table.Column] = _table.COLUMNS,
    group_key: str = "architecture",
    repeat_keys: Sequence[str] = (
        "architecture",
        "train_accuracy",
        "test_accuracy",
        "generalization_gap",
    ),
) -> str:
    """The headline table; every cell carries its raw value in ``data-value``.

    Rows with the same ``group_key`` share a ``<tbody>``; in the second and
    later rows of a group the ``repeat_keys`` cells are greyed, since they
    repeat the group's value.
    """
    head = "".join(
        f'<th class="{"text" if c.fmt is _table._text else "num"}" '
        f'title="{esc(c.meaning)}">{esc(c.header)}</th>'
        for c in columns
    )
    bodies: list[list[str]] = []
    previous: object = object()
    for row in rows:
        first = row.get(group_key) != previous
        if first:
            bodies.append([])
            previous = row.get(group_key)
        cells = []
        for column in columns:
            value = row.get(column.key)
            text = esc(column.format(value))
            classes = ["text" if column.fmt is _table._text else "num"]
            if not first and column.key in repeat_keys:
                classes.append("repeat")
            if (
                column.key == "architecture"
                and isinstance(value, str)
                and value in colors
            ):
                text = (
                    f'<span class="swatch" style="background:{colors[value]}">'
                    f"</span>{text}"
                )
            raw = "" if value is None else esc(json.dumps(value))
            cells.append(
                f'<td class="{" ".join(classes)}" data-key="{column.key}" '
                f'data-value="{raw}">{text}</td>'
            )
        bodies[-1].append(f"<tr>{''.join(cells)}</tr>")
    body = "".join(f"<tbody>{''.join(b)}</tbody>" for b in bodies)
    legend = "; ".join(
        f"<b>{esc(c.header)}</b>: {esc(c.meaning)}"
        for c in columns
        if c.key not in ("architecture", "protocol")
    )
    return (
        f'<div class="scroll"><table class="headline"><thead><tr>{head}</tr>'
        f"</thead>{body}</table></div>\n"
        f'<p class="legend">{legend}. {esc(_table.MISSING)}: not available.</p>'
    )


def key_values(mapping: Mapping) -> str:
    """A definition list of ``mapping`` (nested values as compact JSON)."""
    items = []
    for key, value in mapping.items():
        if isinstance(value, str):
            text = value
        elif isinstance(value, float):
            text = f"{value:.6g}"
        else:
            text = json.dumps(value, sort_keys=True, default=str)
        items.append(f"<dt>{esc(key)}</dt><dd>{esc(text)}</dd>")
    return f'<dl class="kv">{"".join(items)}</dl>'


def _training_table(summary: Mapping, colors: Mapping[str, str]) -> str:
    columns = (
        ("num_params", "parameters", lambda v: f"{int(v):,}"),
        ("seconds", "seconds", lambda v: f"{v:.1f}"),
        ("train_loss", "train loss", lambda v: f"{v:.3f}"),
        ("test_loss", "test loss", lambda v: f"{v:.3f}"),
        ("train_accuracy", "train acc.", lambda v: f"{100 * v:.1f}%"),
        ("test_accuracy", "test acc.", lambda v: f"{100 * v:.1f}%"),
    )
    archs = S.architectures(summary)
    # A column no architecture has (the CLI keeps timings elsewhere) is
    # left out rather than shown as a column of dashes.
    shown = tuple(
        c
        for c in columns
        if any(S.number(S.get(e, "training", c[0])) is not None for e in archs.values())
    )
    head = '<th class="text">architecture</th>' + "".join(
        f"<th>{esc(h)}</th>" for _, h, _ in shown
    )
    rows = []
    for arch, entry in S.architectures(summary).items():
        cells = [
            f'<td class="text"><span class="swatch" '
            f'style="background:{colors[arch]}"></span>{esc(arch)}</td>'
        ]
        for key, _, fmt in shown:
            value = S.number(S.get(entry, "training", key))
            text = _table.MISSING if value is None else fmt(value)
            cells.append(f'<td data-key="{key}">{esc(text)}</td>')
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _driver_caption(summary: Mapping) -> str:
    for group in S.groups(summary):
        text = S.get(group.entry, "drivers", "score_definition")
        if isinstance(text, str) and text:
            return f"Score: {text.rstrip('.')}."
    return ""


def _escape_caption(summary: Mapping) -> str:
    """The theory curves' names and sources, as the summary gives them."""
    escape = S.get(summary, "escape")
    if not isinstance(escape, Mapping):
        return ""
    theories = []
    for sweep in escape.values():
        name = S.get(sweep, "theory", "name")
        source = S.get(sweep, "theory", "source")
        if isinstance(name, str) and name:
            text = f"{name} ({source})" if isinstance(source, str) else name
            if text not in theories:
                theories.append(text)
    return f"Theory: {'; '.join(theories)}." if theories else ""


def _header(summary: Mapping) -> list[str]:
    dataset = S.get(summary, "dataset")
    name = S.get(dataset, "name") or "unknown dataset"
    archs = ", ".join(S.architectures(summary)) or "none"
    bits = [f"dataset {name}"]
    num_train = S.number(S.get(dataset, "num_train"))
    num_test = S.number(S.get(dataset, "num_test"))
    if num_train is not None and num_test is not None:
        bits[-1] += f" ({int(num_train):,} train / {int(num_test):,} test)"
    bits.append(f"architectures: {archs}")
    if summary.get("created"):
        bits.append(f"created {summary['created']}")
    if summary.get("memsgd_version"):
        bits.append(f"memsgd {summary['memsgd_version']}")
    status = summary.get("status")
    banner = ""
    if isinstance(status, str) and status not in ("complete", ""):
        # A summary written before a failure still gets a report of what
        # was recorded; the banner says the run is incomplete.
        banner = note_block([f"The run did not complete (status: {status})."])
    return [
        "<header>",
        "<h1>Stochastic gradient noise: memory, tails and dynamics</h1>",
        f'<p class="meta">{esc(" · ".join(bits))}</p>',
        banner,
        "</header>",
    ]


def _findings(summary: Mapping) -> list[str]:
    findings, reason = S.lookup(summary, "findings")
    if not isinstance(findings, list):
        findings = []
    sentences = [f for f in findings if isinstance(f, str) and f.strip()]
    if not sentences:
        why = reason or "'findings' is empty"
        return [
            '<section id="findings">',
            note_block([f"No findings in the summary: {why}."]),
            "</section>",
        ]
    items = "".join(f"<li>{esc(s)}</li>" for s in sentences)
    return [
        '<section id="findings">',
        f'<ul class="findings">{items}</ul>',
        "</section>",
    ]


def write_report(summary: Mapping, out_dir) -> pathlib.Path:
    """Writes the figures and a standalone ``report.html`` for one run.

    The page opens with the summary's findings, then the headline table
    (:func:`summary_table`), then the figures (:func:`figures`) with a
    one-line caption saying what to look for, then training details,
    settings and versions. What the summary lacks is named in a note where it
    would have been drawn; nothing is recomputed.

    Args:
        summary: the ``summary.json`` dict (``docs/summary-schema.md`` s. 5).
        out_dir: the run's output folder; figures go to ``out_dir/figures/``.

    Returns:
        The path of ``out_dir/report.html``.

    Raises:
        TypeError, ValueError: ``summary`` is not a run summary.

    Reference:
        Tan, Zhang & Liu, "Understanding Short-Range Memory Effects in Deep
        Neural Networks", arXiv:2105.02062.
    """
    S.validate_summary(summary)
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths, notes = _figures.draw_all(summary, out)
    colors = st.arch_colors(S.architectures(summary))
    rows = _table.summary_table(summary)

    body = _header(summary) + _findings(summary)
    body += ['<section id="table">', "<h2>Per architecture and protocol</h2>"]
    body.append(table_block(rows, colors))
    gaps = [
        f"{r['architecture']} / {r['protocol'] or '—'}: {m}"
        for r in rows
        for m in r["missing"]
    ]
    body += [note_block(gaps), "</section>"]

    body += ['<section id="figures">', "<h2>Figures</h2>"]
    for info in _figures.FIGURES:
        extra = {
            "drivers": _driver_caption,
            "escape": _escape_caption,
        }.get(info.name, lambda _: "")(summary)
        body.append(
            figure_block(info, paths.get(info.name), notes.get(info.name, []), extra)
        )
    body.append("</section>")

    body += ['<section id="training">', "<h2>Training</h2>"]
    body.append(_training_table(summary, colors))
    body.append("</section>")

    body += ['<section id="settings">', "<h2>Settings and versions</h2>"]
    for key, title in (
        ("settings", "Settings"),
        ("versions", "Versions"),
        ("dataset", "Dataset"),
        ("seconds", "Timings (seconds)"),
    ):
        value = S.get(summary, key)
        if isinstance(value, Mapping) and value:
            body.append(
                f"<details><summary>{title}</summary>{key_values(value)}</details>"
            )
    body.append("</section>")
    body.append(
        "<footer>memsgd report · method: Tan, Zhang &amp; Liu, "
        "arXiv:2105.02062 · figures in figures/ next to this file</footer>"
    )

    path = out / "report.html"
    title = f"memsgd report · {S.get(summary, 'dataset', 'name') or 'run'}"
    path.write_text(page(title, body), encoding="utf-8")
    logger.info("wrote %s with %d figures", path, len(paths))
    return path
