"""`memsgd simulate`: an escape-time experiment from flags."""

from __future__ import annotations

import json
import pathlib

import click


def run(
    driver, hurst, alpha, sigma, potential, paths, steps, dt, seed, out_dir
) -> None:
    from memsgd.cli import _pipeline

    for flag, given, needs in (("--hurst", hurst, "fbm"), ("--alpha", alpha, "levy")):
        if given and driver != needs:
            raise ValueError(
                f"{flag} applies to --driver {needs}. Received: --driver {driver}"
            )
    if driver == "fbm":
        parameter, values = "hurst", hurst or _pipeline.HURST_GRID
    elif driver == "levy":
        parameter, values = "alpha", alpha or _pipeline.ALPHA_GRID
    else:
        parameter, values = "sigma", (sigma,)
    for name, value in (("--paths", paths), ("--steps", steps)):
        if value < 1:
            raise ValueError(f"{name} must be >= 1. Received: {name} {value}")
    if dt <= 0:
        raise ValueError(f"--dt must be > 0. Received: --dt {dt}")
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    from memsgd import report

    # As in the report: the Levy scale makes alpha = 2 Brownian at this sigma.
    sweep = _pipeline.escape(
        driver,
        parameter,
        values,
        sigma,
        potential=potential,
        dt=dt,
        num_steps=steps,
        num_paths=paths,
        seed=seed,
    ).to_dict()
    click.echo(
        f"{driver} noise, sigma {sigma:g}, {potential}, {paths} paths, "
        f"horizon {steps * dt:g} ({steps} steps of {dt:g})"
    )
    click.echo(f"{parameter:>8} {'mean T':>11} {'95% CI':>21} {'censored':>9}")
    for i, v in enumerate(sweep["values"]):
        censored = sweep["censored_fraction"][i]
        # Paths still inside at the horizon make the mean a lower bound.
        bound = ">=" if censored > 0 else "  "
        click.echo(
            f"{v:>8.3g} {bound}{sweep['mean_escape_time'][i]:>9.3f} "
            f"[{sweep['ci_low'][i]:>8.3f}, {sweep['ci_high'][i]:>8.3f}] "
            f"{100 * censored:>8.1f}%"
        )
    (out / "escape.json").write_text(json.dumps(sweep, indent=1))
    # The report draws the escape figure from a summary's "escape" block.
    key = {"hurst": "hurst", "alpha": "alpha", "sigma": "brownian_sigma"}[parameter]
    paths = report.figures({"architectures": {}, "escape": {key: sweep}}, out)
    click.echo(f"wrote {out / 'escape.json'} and {paths['escape']}")
