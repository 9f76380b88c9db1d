"""`memsgd compare RUN_DIR...`: several analyze runs side by side."""

from __future__ import annotations

import json
import pathlib

import click


def _label(path: pathlib.Path, summary: dict) -> str:
    s = summary.get("settings", {})
    return f"{path.name} (lr={s.get('lr')}, b={s.get('batch_size')})"


def run(run_dirs, out_dir) -> None:
    summaries = {}
    for d in run_dirs:
        path = pathlib.Path(d)
        f = path / "summary.json"
        if not f.is_file():
            raise FileNotFoundError(
                f"no summary.json in {path} (is it an analyze run?)"
            )
        summary = json.loads(f.read_text())
        summaries[_label(path, summary)] = summary

    from memsgd import report

    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for label, summary in summaries.items():
        click.echo(f"== {label} ==")
        status = summary.get("status", "unknown")
        if status != "complete":
            click.echo(f"   run not complete ({status}); what it has is shown")
        rows = report.summary_table(summary)
        click.echo(report.format_table(rows) if rows else "   no results")
    html = report.write_comparison(summaries, out)
    click.echo(f"wrote {html}")
