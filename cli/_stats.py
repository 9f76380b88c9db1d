"""`memsgd stats FILE...`: the statistics of recorded SGN, without training."""

from __future__ import annotations

import json
import pathlib

import click

from memsgd.cli import _pipeline


def run(files, out_json, seed) -> None:
    for f in files:
        if not pathlib.Path(f).is_file():
            raise FileNotFoundError(f"recording not found: {f}")
    results = {}
    for f in files:
        results[str(f)] = _pipeline.analyse_recording(f, seed=seed)
        for group, block in results[str(f)].items():
            h = block["stats"]["hurst"]
            g = block["stats"]["gaussianity"]
            click.echo(
                f"{f}:{group}: T={block['num_steps']} median H={h['median']:.3f} "
                f"(CI below 1/2: {100 * h['fraction_below_half']:.0f}%), "
                f"Gaussianity rejected {100 * g['fraction_rejected_any']:.0f}%, "
                f"best driver {block['drivers']['best']}"
            )
    text = json.dumps(results, indent=1)
    if out_json:
        pathlib.Path(out_json).write_text(text)
        click.echo(f"wrote {out_json}")
    else:
        click.echo(text)
