"""Analysis steps shared by `memsgd analyze` and `memsgd stats`.

`analyze` records HDF5 files and then calls :func:`analyse_recording` on them;
`stats` calls the same function on files from any earlier run, so the numbers
in a `summary.json` can be recomputed from its recordings.
"""

from __future__ import annotations

import itertools
import logging
import math
import os

import numpy as np

logger = logging.getLogger(__name__)

# Fewest SGN rows the statistics accept (every estimator's minimum).
MIN_STEPS = 64

# Escape sweeps in the report: the swept values and the common setting.
HURST_GRID = (0.2, 0.35, 0.5, 0.65, 0.8)
# S1(2, beta, s, 0) is N(0, 2 s^2): the Levy driver gets the scale sigma/sqrt(2)
# so that its alpha = 2 member is the Brownian motion with the same sigma, and
# escape times differ across drivers by memory and tails, not by noise level.
LEVY_SCALE = 1 / math.sqrt(2)
ALPHA_GRID = (1.4, 1.6, 1.8, 2.0)
SIGMA_GRID = (0.4, 0.5, 0.6, 0.7)


def analyse_group(sgn: np.ndarray, seed: int) -> dict:
    """Statistics and fitted SDE drivers for one SGN matrix (T x C)."""
    from memsgd import sde, stats

    sgn = np.asarray(sgn, dtype=np.float64)
    finite = np.all(np.isfinite(sgn), axis=0)
    if not finite.all():
        logger.warning("dropping %d coordinates with non-finite SGN", (~finite).sum())
        sgn = sgn[:, finite]
    # A coordinate whose gradient is exactly zero in most minibatches belongs
    # to a ReLU unit that is dead for most inputs: its zeros are a point mass,
    # not noise, and would read as an extremely heavy tail (alpha-hat near 0).
    # Constant coordinates have no noise at all.
    constant = (np.std(sgn, axis=0) == 0) | (np.mean(sgn == 0, axis=0) > 0.5)
    if constant.any():
        logger.info("dropping %d constant or mostly-zero coordinates", constant.sum())
        sgn = sgn[:, ~constant]
    if sgn.shape[0] < MIN_STEPS or sgn.shape[1] < 2:
        raise ValueError(
            f"an SGN series needs at least {MIN_STEPS} steps and 2 varying "
            f"coordinates to analyse. Received: shape={sgn.shape}"
        )
    result = {"stats": stats.analyze(sgn, seed=seed).to_dict()}
    result["drivers"] = sde.fit_drivers(sgn, seed=seed).to_dict()
    result["dropped_coordinates"] = int((~finite).sum() + constant.sum())
    return result


def analyse_recording(path: str | os.PathLike, seed: int = 0) -> dict:
    """Runs :func:`analyse_group` on every SGN group of one recording."""
    from memsgd import recording

    rec = recording.read(path)
    out = {}
    for name, group in rec.groups.items():
        sgn, rows = exact_rows(group)
        logger.info("analysing %s:%s, SGN shape %s", path, name, sgn.shape)
        block = {
            "protocol": group.protocol,
            "attrs": _json_attrs(group.attrs),
            "num_steps": int(sgn.shape[0]),
            "rows_recorded": int(group.sgn.shape[0]),
            "rows_used": rows,
        }
        share = reference_noise_share(group)
        if share is not None:
            block["reference_noise_share"] = share
        if sgn.shape[0] < MIN_STEPS:
            # Most often an in-training group probed every K > 1 steps.
            block.update(
                {
                    "stats": None,
                    "drivers": None,
                    "error": f"only {sgn.shape[0]} {rows}; the statistics need at "
                    f"least {MIN_STEPS} (probe more often, e.g. --probe-every 1, "
                    "or record more steps)",
                }
            )
            out[name] = block
            continue
        try:
            block.update(analyse_group(sgn, seed))
        except ValueError as exc:
            # A group too short to analyse is reported, not fatal: the other
            # groups of the run still count.
            logger.warning("not analysing %s:%s: %s", path, name, exc)
            block.update({"stats": None, "drivers": None, "error": str(exc)})
        out[name] = block
    return out


def reference_noise_share(group) -> float | None:
    """Variance a resampled reference subset adds to xi, as a share of xi's.

    A fresh subset of M of the N training samples at every probe estimates
    grad L with an error e_k that is uncorrelated with xi_k and across steps,
    so the recorded series is xi_k - e_k with Var(e) / Var(xi) =
    (1/M - 1/N) / (1/b - 1/N) for minibatches of b samples (the variance of
    a mean of draws without replacement; Cochran 1977, "Sampling
    Techniques", eq. 2.8). Autocorrelations at lags >= 1 shrink by
    1 / (1 + share). ``None`` unless the reference was resampled.
    """
    attrs = group.attrs
    if attrs.get("reference_sampling") != "resampled":
        return None
    m, n = attrs.get("probe_samples"), attrs.get("probe_population")
    sizes = (
        group.batch_size[group.batch_size > 0] if group.batch_size is not None else []
    )
    if not m or not n or len(sizes) == 0:
        return None
    b = float(np.median(sizes))
    return float((1 / m - 1 / n) / (1 / b - 1 / n))


def _json_attrs(attrs: dict) -> dict:
    """The group's scalar attributes (sampler, batch size, ...) for JSON."""
    out = {}
    for key, value in attrs.items():
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, (str, int, float, bool)) or value is None:
            out[key] = value
    return out


def exact_rows(group) -> tuple[np.ndarray, str]:
    """The rows of a group's SGN that are noise, at an exact full gradient.

    Skipped steps (mixed-precision overflow) are not noise. In training with
    a probe every K > 1 steps, rows in between use a full gradient up to K-1
    steps old; the drift of grad L over those steps would add a smooth,
    positively correlated term to xi and bias H upward, so only the rows at
    which the full gradient was taken (``probe_age == 0``) are kept: a series
    sampled every K steps.
    """
    keep = np.all(np.isfinite(group.sgn), axis=1)
    what = "finite rows"
    if group.probe_age is not None and group.probe_age.size == keep.size:
        if np.any(group.probe_age > 0):
            keep &= group.probe_age == 0
            what = "rows with an exact full gradient (probe_age == 0)"
    return group.sgn[keep], what


def escape(driver: str, parameter: str, values, sigma: float, **kwargs) -> dict:
    """``sde.escape_sweep`` at the noise level ``sigma`` (an ``EscapeSweep``).

    The one place where the CLI's noise level becomes a driver's scale: the
    Levy driver gets ``sigma * LEVY_SCALE`` (see there), the others sigma.
    """
    from memsgd import sde

    scale = sigma * LEVY_SCALE if driver == "levy" else sigma
    return sde.escape_sweep(driver, parameter, tuple(values), sigma=scale, **kwargs)


def escape_sweeps(
    sigma: float, num_paths: int, num_steps: int, dt: float, seed: int
) -> dict:
    """The three sweeps of the report: H (fBM), alpha (Levy), sigma (Brownian)."""
    common = dict(
        potential="double_well",
        dt=dt,
        num_steps=num_steps,
        num_paths=num_paths,
        seed=seed,
    )
    return {
        "hurst": escape("fbm", "hurst", HURST_GRID, sigma, **common).to_dict(),
        "alpha": escape("levy", "alpha", ALPHA_GRID, sigma, **common).to_dict(),
        "brownian_sigma": escape(
            "brownian", "sigma", SIGMA_GRID, sigma, **common
        ).to_dict(),
    }


def _fmt(x, digits=2) -> str:
    return (
        "n/a"
        if x is None or (isinstance(x, float) and math.isnan(x))
        else (f"{x:.{digits}f}")
    )


def _source(prot: dict) -> str:
    """Where a group's noise came from: the sampler or the probe's reference."""
    attrs = prot.get("attrs") or {}
    if prot.get("protocol") != "in_training":
        return str(attrs.get("sampler", "sampler unknown"))
    if attrs.get("reference_sampling"):
        m = attrs.get("probe_samples")
        return f"reference {m} examples, {attrs['reference_sampling']}"
    return "reference: whole training set"


def findings(summary: dict) -> list[str]:
    """Plain sentences about what the run found, drawn from the summary.

    One sentence per analysed (architecture, protocol) pair, one per group
    that could not be analysed, and an overall line each for memory and
    escape.
    """
    lines = []
    medians, shares = [], []
    for arch, block in summary.get("architectures", {}).items():
        for name, prot in block.get("protocols", {}).items():
            st = prot.get("stats")
            if not st or (st.get("hurst") or {}).get("median") is None:
                lines.append(f"{arch} ({name}): not analysed: {prot.get('error')}")
                continue
            h = st["hurst"]
            g = st.get("gaussianity") or {}
            stable = st.get("stable") or {}
            drv = prot.get("drivers") or {}
            medians.append(h["median"])
            shares.append(h["fraction_below_half"])
            where = f"{name}, {_source(prot)}"
            lines.append(
                f"{arch} ({where}, T={st['num_steps']}, C={st['num_series']}): "
                f"median H {_fmt(h['median'])}, CI below 1/2 for "
                f"{_fmt(100 * h['fraction_below_half'], 0)}% of coordinates; "
                f"Gaussianity rejected for "
                f"{_fmt(100 * (g.get('fraction_rejected_any') or float('nan')), 0)}%;"
                f" median stable alpha {_fmt(stable.get('median_alpha'))}; best "
                f"driver {drv.get('best', 'n/a')} (confidence "
                f"{_fmt(100 * drv.get('confidence', float('nan')), 0)}%)."
            )
    if medians:
        # With no memory (H = 1/2) about 2.5% of coordinates would have a 95%
        # interval entirely below 1/2; that is the yardstick for the shares.
        lines.insert(
            0,
            f"Across {len(medians)} analysed SGN series, median H ranges "
            f"{_fmt(min(medians))}-{_fmt(max(medians))}; the share of coordinates "
            f"whose 95% interval lies entirely below 1/2 ranges "
            f"{_fmt(100 * min(shares), 0)}-{_fmt(100 * max(shares), 0)}% "
            "(about 2.5% if there were no memory).",
        )
    if (summary.get("settings") or {}).get("quick"):
        lines.insert(
            0,
            "This is a --quick smoke run (small data, few steps, few "
            "coordinates): it checks the pipeline; its numbers are not "
            "estimates to quote.",
        )
    sweep = (summary.get("escape") or {}).get("hurst")
    if sweep and sweep.get("mean_escape_time"):
        times = sweep["mean_escape_time"]
        values = sweep["values"]
        rising = all(b >= a for a, b in itertools.pairwise(times))
        lines.append(
            "Escape from the sharp minimum under fBM noise: mean escape time "
            f"{_fmt(times[0], 1)} at H={values[0]} and {_fmt(times[-1], 1)} at "
            f"H={values[-1]} (censoring-aware); it "
            f"{'grows' if rising else 'does not grow steadily'} with H."
        )
    return lines
