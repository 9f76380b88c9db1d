"""`memsgd simulate`: an escape-time experiment from flags."""

from __future__ import annotations

import json
import pathlib

import click


def run(
    driver, hurst, alpha, sigma, potential, paths, steps, dt, seed, out_dir
) -> None:
    if driver == "fbm":
        parameter, values = "hurst", hurst or (0.2, 0.35, 0.5, 0.65, 0.8)
    elif driver == "levy":
        parameter, values = "alpha", alpha or (1.4, 1.6, 1.8, 2.0)
    else:
        parameter, values = "sigma", (sigma,)
    for name, value in (("--paths", paths), ("--steps", steps)):
        if value < 1:
            raise ValueError(f"{name} must be >= 1. Received: {name} {value}")
    if dt <= 0:
        raise ValueError(f"--dt must be > 0. Received: --dt {dt}")
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    from memsgd import report, sde

    sweep = sde.escape_sweep(
        driver,
        parameter,
        tuple(values),
        potential=potential,
        sigma=sigma,
        dt=dt,
        num_steps=steps,
        num_paths=paths,
        seed=seed,
    ).to_dict()
    click.echo(f"{parameter:>8} {'mean T':>10} {'95% CI':>21} {'censored':>9}")
    for i, v in enumerate(sweep["values"]):
        click.echo(
            f"{v:>8.3g} {sweep['mean_escape_time'][i]:>10.3f} "
            f"[{sweep['ci_low'][i]:>8.3f}, {sweep['ci_high'][i]:>8.3f}] "
            f"{100 * sweep['censored_fraction'][i]:>8.1f}%"
        )
    (out / "escape.json").write_text(json.dumps(sweep, indent=1))
    # The report draws the escape figure from a summary's "escape" block.
    key = {"hurst": "hurst", "alpha": "alpha", "sigma": "brownian_sigma"}[parameter]
    paths = report.figures({"architectures": {}, "escape": {key: sweep}}, out)
    click.echo(f"wrote {out / 'escape.json'} and {paths['escape']}")
