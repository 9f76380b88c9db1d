"""`memsgd stats FILE...`: the statistics of recorded SGN, without training."""

from __future__ import annotations

import json
import pathlib

import click

from memsgd.cli import _pipeline


def _check_file(f) -> None:
    import h5py

    path = pathlib.Path(f)
    if not path.is_file():
        raise FileNotFoundError(f"recording not found: {f}")
    if not h5py.is_hdf5(path):
        raise ValueError(
            f"not an HDF5 recording: {f} (memsgd stats reads the .h5 files "
            "that memsgd analyze or memsgd.capture write)"
        )


def _line(f, group: str, block: dict) -> str:
    st, drivers = block.get("stats"), block.get("drivers")
    if not st or not drivers:
        return f"{f}:{group}: not analysed: {block.get('error')}"
    h, g = st["hurst"], st["gaussianity"]
    return (
        f"{f}:{group}: T={block['num_steps']} median H={h['median']:.3f} "
        f"(CI below 1/2: {100 * h['fraction_below_half']:.0f}%), "
        f"Gaussianity rejected {100 * g['fraction_rejected_any']:.0f}%, "
        f"best driver {drivers['best']}"
    )


def run(files, out_json, seed) -> None:
    for f in files:
        _check_file(f)
    # With `--out -` stdout carries the JSON alone; the summary goes to stderr.
    to_stdout = out_json == "-"
    results = {}
    for f in files:
        try:
            results[str(f)] = _pipeline.analyse_recording(f, seed=seed)
        except (KeyError, OSError) as exc:
            raise ValueError(f"not a memsgd recording: {f} ({exc})") from None
        for group, block in results[str(f)].items():
            click.echo(_line(f, group, block), err=to_stdout)
    if out_json:
        text = json.dumps(results, indent=1)
        if to_stdout:
            click.echo(text)
        else:
            pathlib.Path(out_json).write_text(text)
            click.echo(f"wrote {out_json}")
