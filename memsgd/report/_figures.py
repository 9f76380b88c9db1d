"""The report's figures, each drawn from the run summary alone.

Every drawing function takes a :class:`_Context` and returns a figure, or
``None`` (with a note saying why) when the summary has nothing to draw. No
estimator is re-run: the only arithmetic here is on the summary's own numbers
(quantiles of per-coordinate estimates for error bars, and the closed-form
fGn autocorrelation drawn as a reference curve).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import pathlib
import statistics
from collections.abc import Callable, Mapping

import numpy as np
from matplotlib.artist import Artist
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import (
    FuncFormatter,
    LogLocator,
    MaxNLocator,
    NullFormatter,
)

from memsgd.report import _style as st
from memsgd.report import _summary as S

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class FigureInfo:
    """A figure's file stem, heading and caption (what to look for)."""

    name: str
    title: str
    caption: str


FIGURES: tuple[FigureInfo, ...] = (
    FigureInfo(
        "hurst_distribution",
        "Memory: Hurst exponent of SGN per coordinate",
        "Ĥ on each recorded coordinate. Mass left of the dashed line "
        "(H = ½, white noise) is anti-persistent, short-range memory; solid "
        "bars are coordinates whose confidence interval excludes ½.",
    ),
    FigureInfo(
        "hurst_methods",
        "Memory: do the estimators agree?",
        "Median Ĥ by estimator on the same series. Agreement on one side of "
        "½ makes the memory finding robust to the choice of method.",
    ),
    FigureInfo(
        "acf",
        "Memory: autocorrelation of SGN",
        "Mean autocorrelation over coordinates (shaded: 10–90% of "
        "coordinates). Values outside the grey band (±1.96/√T) are memory; "
        "the dotted curve is the fGn autocorrelation at the median Ĥ.",
    ),
    FigureInfo(
        "qq",
        "Marginals: quantiles against the fitted Gaussian and α-stable laws",
        "Representative coordinates. Points on the diagonal fit; points that "
        "bend away in the tails reject the law. Triangles mark quantiles "
        "beyond the plotted range.",
    ),
    FigureInfo(
        "tail_index",
        "Marginals: tail indices",
        "Per-coordinate tail index (bars) and α-stable fit (outline); α = 2 is "
        "Gaussian, smaller is heavier-tailed. Pooling all coordinates "
        "(dashed) can read much heavier than any single coordinate.",
    ),
    FigureInfo(
        "marginals",
        "Marginals: Gaussian, α-stable or neither?",
        "Left: share of coordinates whose marginal is judged Gaussian, "
        "α-stable, or neither. Right: share of coordinates each normality test "
        "rejects (false-discovery rate controlled; filled: in training, "
        "hollow: frozen weights). A large 'neither' share is what the paper "
        "claims.",
    ),
    FigureInfo(
        "drivers",
        "Dynamics: which SDE driver reproduces the SGN?",
        "Score and its two parts for each fitted driver (lower is closer to "
        "the SGN). The starred bar is the best driver; the percentage is the "
        "share of bootstrap resamples in which it stays best.",
    ),
    FigureInfo(
        "escape",
        "Dynamics: escape from a minimum",
        "Mean first-passage time as the driver's parameter varies (bars: "
        "confidence interval). Hollow markers: some paths had not escaped by "
        "the horizon, so the mean is a lower bound (share censored written "
        "beside). Dashed: theory; triangles: the architectures' fitted values. "
        "The Lévy scale is σ/√2, so that its α = 2 point is the Brownian "
        "motion of the same σ.",
    ),
    FigureInfo(
        "escape_fitted",
        "Dynamics: escape with each architecture's fitted drivers",
        "Mean escape time from the same minimum when the SDE is driven by "
        "each architecture's fitted H (fBM) and α (Lévy), at the common "
        "noise level of the sweeps (the SGN's own σ is in gradient units, "
        "not the potential's); the Lévy scale is σ/√2, so that α = 2 is the "
        "Brownian motion of the same σ (bars: confidence interval; hollow: "
        "some paths censored at the horizon, so a lower bound). The "
        "Brownian bar is the same for every architecture.",
    ),
    FigureInfo(
        "accuracy_vs_hurst",
        "Generalisation beside memory",
        "Test accuracy and generalisation gap against each architecture's "
        "median Ĥ (bars: interquartile range over coordinates; hollow: "
        "frozen-weights protocol).",
    ),
    FigureInfo(
        "training",
        "Training curves",
        "Loss and accuracy per epoch, to check that each network trained "
        "before its noise is read.",
    ),
)

FIGURE_NAMES = tuple(f.name for f in FIGURES)


class _Context:
    """The summary plus what every figure needs: colours and notes."""

    def __init__(self, summary: Mapping):
        self.summary = summary
        self.archs = list(S.architectures(summary))
        self.colors = st.arch_colors(self.archs)
        self.kinds = S.kinds(summary)
        self.primary = S.primary_kind(summary)
        self.notes: dict[str, list[str]] = {}
        self.figure = ""

    def note(self, message: str) -> None:
        notes = self.notes.setdefault(self.figure, [])
        if message in notes:
            return
        notes.append(message)
        logger.info("report figure %s: %s", self.figure, message)

    def value(self, group: S.Group, *path: str):
        """``group.entry[path]``, noting why when it is missing."""
        value, reason = S.lookup(group.entry, *path)
        if reason:
            self.note(f"{group.label}: {reason}")
        return value

    def primary_groups(self) -> list[S.Group]:
        """One group per architecture: the primary protocol, else the first
        with statistics, else the first."""
        out = []
        for arch in self.archs:
            group = S.group_of(self.summary, arch, self.primary or "")
            if group is None or not isinstance(group.entry.get("stats"), Mapping):
                found = [g for g in S.groups(self.summary) if g.arch == arch]
                analysed = [
                    g for g in found if isinstance(g.entry.get("stats"), Mapping)
                ]
                found = analysed or ([group] if group else found)
                group = found[0] if found else None
            if group is None:
                self.note(f"{arch}: no recorded protocol")
            else:
                out.append(group)
        return out


def _arch_tick(group: S.Group, with_confidence: bool) -> str:
    """``arch`` and, below it, the best driver's bootstrap confidence."""
    conf = S.number(S.get(group.entry, "drivers", "confidence"))
    if not with_confidence or conf is None:
        return group.arch
    return f"{group.arch}\n{conf:.0%}"


def _grid(fig: Figure, n: int, ncols: int, **kwargs):
    """``n`` axes in rows of ``ncols``; spare cells are removed."""
    nrows = math.ceil(n / ncols)
    axes = fig.subplots(nrows, ncols, squeeze=False, **kwargs).ravel()
    for ax in axes[n:]:
        ax.remove()
    return list(axes[:n])


def _text(value) -> str | None:
    """``value`` if it is a string, else ``None``."""
    return value if isinstance(value, str) else None


def _list(value) -> list:
    """``value`` if it is a list (or tuple), else an empty list."""
    return list(value) if isinstance(value, list | tuple) else []


def _same_shape(reference: np.ndarray, *arrays: np.ndarray | None) -> bool:
    """Whether every array is present and shaped like ``reference``."""
    return all(a is not None and a.shape == reference.shape for a in arrays)


def _empty(ax, text: str) -> None:
    ax.set_axis_off()
    ax.text(
        0.5, 0.5, text, ha="center", va="center", color=st.MUTED, transform=ax.transAxes
    )


def _hurst_distribution(ctx: _Context) -> Figure | None:
    archs = [a for a in ctx.archs if any(g.arch == a for g in S.groups(ctx.summary))]
    # A protocol gets a column only if some architecture has estimates for it
    # (the default run probes in training too rarely for statistics).
    kinds = [k for k in ctx.kinds if any(_has_hurst(ctx, a, k) for a in archs)]
    for kind in ctx.kinds:
        if kind not in kinds:
            ctx.note(f"{st.protocol_label(kind)}: no Hurst estimates, not shown")
    if not archs or not kinds:
        ctx.note("no recorded protocol with statistics")
        return None
    fig = st.new_figure(3.4 * len(kinds) + 0.4, 1.25 * len(archs) + 0.75)
    axes = fig.subplots(len(archs), len(kinds), sharex=True, squeeze=False)
    bins = np.linspace(0.0, 1.0, 41)
    drawn = 0
    method = None
    for i, arch in enumerate(archs):
        color = ctx.colors[arch]
        for j, kind in enumerate(kinds):
            ax = axes[i][j]
            group = S.group_of(ctx.summary, arch, kind)
            if group is None:
                _empty(ax, f"{arch}: no {st.protocol_label(kind)} recording")
                continue
            hurst = ctx.value(group, "stats", "hurst")
            estimate = S.array(S.get(hurst, "estimate"))
            if estimate is None or not np.isfinite(estimate).any():
                if hurst is not None:
                    ctx.note(f"{group.label}: no finite Hurst estimates")
                _empty(ax, f"{group.label}: no Hurst estimates")
                continue
            method = method or S.get(hurst, "method")
            keep = np.isfinite(estimate)
            values = np.clip(estimate[keep], 0.0, 1.0)
            ax.hist(values, bins=bins, color=color, alpha=0.3, lw=0)
            low = S.array(S.get(hurst, "ci_low"))
            high = S.array(S.get(hurst, "ci_high"))
            if (
                low is not None
                and high is not None
                and _same_shape(estimate, low, high)
            ):
                with np.errstate(invalid="ignore"):
                    excludes = ((high < 0.5) | (low > 0.5))[keep]
                ax.hist(values[excludes], bins=bins, color=color, lw=0)
            ax.axvline(0.5, color=st.REFERENCE_COLOR, ls="--", lw=0.9)
            ax.text(
                0.01,
                0.97,
                _hurst_text(hurst, values.size),
                transform=ax.transAxes,
                va="top",
                ha="left",
                fontsize=7.5,
            )
            ax.set_title(_title(group), color=color)
            ax.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
            ax.set_ylim(top=ax.get_ylim()[1] * 1.6)
            if j == 0:
                ax.set_ylabel("coordinates")
            drawn += 1
    for ax in axes[-1]:
        ax.set_xlabel(f"Ĥ per coordinate ({method or 'estimate'})")
        ax.set_xlim(0.0, 1.0)
    handles = [
        Patch(color="#555555", label="CI excludes ½"),
        Patch(color="#555555", alpha=0.3, label="all coordinates"),
        Line2D(
            [],
            [],
            color=st.REFERENCE_COLOR,
            ls="--",
            lw=0.9,
            label="H = ½ (white noise)",
        ),
    ]
    fig.legend(
        handles=handles, loc="outside upper right", ncols=3 if len(kinds) > 1 else 2
    )
    return fig if drawn else None


def _has_hurst(ctx: _Context, arch: str, kind: str) -> bool:
    group = S.group_of(ctx.summary, arch, kind)
    if group is None:
        return False
    estimate = S.array(S.get(group.entry, "stats", "hurst", "estimate"))
    return estimate is not None and bool(np.isfinite(estimate).any())


def _title(group: S.Group) -> str:
    """``arch · in training`` or ``arch · frozen/epoch_003``."""
    name = st.protocol_label(group.name) if group.name == group.kind else group.name
    return f"{group.arch} · {name}"


def _hurst_text(hurst: Mapping, n: int) -> str:
    parts = []
    median = S.number(S.get(hurst, "median"))
    head = f"n = {n}" if median is None else f"median {median:.2f} · n = {n}"
    below = S.number(S.get(hurst, "fraction_below_half"))
    above = S.number(S.get(hurst, "fraction_above_half"))
    if below is not None:
        parts.append(f"CI < ½: {below:.0%}")
    if above is not None:
        parts.append(f"CI > ½: {above:.0%}")
    return "\n".join([head, " · ".join(parts)])


def _hurst_methods(ctx: _Context) -> Figure | None:
    rows: dict[str, dict[str, float]] = {}
    for group in ctx.primary_groups():
        stats = group.stats or {}
        main = S.number(S.get(stats, "hurst", "median"))
        method = S.get(stats, "hurst", "method") or "main"
        if main is not None:
            rows.setdefault(f"{method} (main)", {})[group.arch] = main
        others = S.get(stats, "hurst_methods")
        if not isinstance(others, Mapping):
            continue
        for name, result in others.items():
            value = S.number(S.get(result, "median"))
            if value is None:
                ctx.note(f"{group.label}: estimator {name} gave no median")
                continue
            rows.setdefault(str(name), {})[group.arch] = value
    if len(rows) < 2:
        ctx.note("fewer than two Hurst estimators in the summary")
        return None
    names = list(rows)
    fig = st.new_figure(6.2, 0.33 * len(names) + 1.1)
    ax = fig.subplots()
    archs = [a for a in ctx.archs if any(a in r for r in rows.values())]
    offsets = np.linspace(-0.22, 0.22, len(archs)) if len(archs) > 1 else [0.0]
    for arch, dy in zip(archs, offsets):
        ys = [i + dy for i, n in enumerate(names) if arch in rows[n]]
        xs = [rows[n][arch] for n in names if arch in rows[n]]
        ax.plot(xs, ys, "o", color=ctx.colors[arch], label=arch, ms=5)
    ax.axvline(0.5, color=st.REFERENCE_COLOR, ls="--", lw=0.9)
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    ax.set_xlabel(f"median Ĥ over coordinates ({_kind_text(ctx)})")
    ax.grid(axis="y", visible=False)
    lo = min(min(r.values()) for r in rows.values())
    hi = max(max(r.values()) for r in rows.values())
    ax.set_xlim(min(lo, 0.5) - 0.05, max(hi, 0.5) + 0.05)
    fig.legend(loc="outside right upper")
    return fig


def _kind_text(ctx: _Context) -> str:
    return st.protocol_label(ctx.primary or "")


def _fgn_acf(hurst: float, lags: np.ndarray) -> np.ndarray:
    """rho(k) = (|k+1|^{2H} - 2|k|^{2H} + |k-1|^{2H}) / 2 (Beran 1994)."""
    k = np.abs(lags.astype(np.float64))
    two_h = 2.0 * hurst
    return 0.5 * (np.abs(k + 1) ** two_h - 2 * k**two_h + np.abs(k - 1) ** two_h)


def _acf(ctx: _Context) -> Figure | None:
    panels = []
    for arch in ctx.archs:
        found = []
        for kind in ctx.kinds:
            group = S.group_of(ctx.summary, arch, kind)
            if group is None:
                continue
            acf = ctx.value(group, "stats", "acf")
            lags = S.array(S.get(acf, "lags"))
            mean = S.array(S.get(acf, "mean"))
            if lags is None or mean is None or lags.shape != mean.shape:
                if acf is not None:
                    ctx.note(f"{group.label}: ACF lags and mean do not match")
                continue
            found.append((kind, group, acf, lags, mean))
        if found:
            panels.append((arch, found))
    if not panels:
        ctx.note("no autocorrelation in the summary")
        return None
    ncols = min(3, len(panels))
    fig = st.new_figure(2.6 * ncols + 0.5, 2.3 * math.ceil(len(panels) / ncols) + 0.4)
    axes = _grid(fig, len(panels), ncols, sharey=True)
    for ax, (arch, found) in zip(axes, panels):
        color = ctx.colors[arch]
        band, last = None, 1
        hurst = None
        for kind, group, acf, lags, mean in found:
            keep = lags > 0
            q10, q90 = S.array(S.get(acf, "q10")), S.array(S.get(acf, "q90"))
            filled = kind == S.IN_TRAINING
            if q10 is not None and q90 is not None and _same_shape(lags, q10, q90):
                ax.fill_between(
                    lags[keep],
                    q10[keep],
                    q90[keep],
                    color=color,
                    alpha=0.18 if filled else 0.08,
                    lw=0,
                )
            ax.plot(
                lags[keep],
                mean[keep],
                color=color,
                marker="o" if keep.sum() <= 25 else None,
                ms=3,
                ls=st.protocol_linestyle(kind),
                mfc=color if filled else "white",
            )
            band = band or S.number(acf.get("band"))
            if hurst is None:
                hurst = S.number(S.get(group.stats, "hurst", "median"))
            last = max(last, int(lags[keep].max()) if keep.any() else 1)
        if band is not None:
            ax.axhspan(-band, band, color="#000000", alpha=0.07, lw=0)
        if hurst is not None and 0 < hurst < 1:
            k = np.arange(1, int(last) + 1)
            ax.plot(k, _fgn_acf(hurst, k), color=st.REFERENCE_COLOR, ls=":", lw=1.1)
        ax.axhline(0.0, color=st.MUTED, lw=0.6)
        ax.set_title(arch, color=color)
        ax.set_xlabel("lag k (steps)")
    for ax in axes[::ncols]:
        ax.set_ylabel("autocorrelation of SGN")
    handles: list[Artist] = [
        Line2D(
            [],
            [],
            color="#555555",
            marker="o",
            ms=3,
            label=st.protocol_label(kind),
            ls=st.protocol_linestyle(kind),
            mfc="#555555" if kind == S.IN_TRAINING else "white",
        )
        for kind in ctx.kinds
    ]
    handles += [
        Patch(color="#000000", alpha=0.07, label="±1.96/√T (white noise)"),
        Line2D([], [], color=st.REFERENCE_COLOR, ls=":", label="fGn at median Ĥ"),
    ]
    fig.legend(handles=handles, loc="outside upper right", ncols=len(handles))
    return fig


def _qq(ctx: _Context) -> Figure | None:
    panels = []
    for group in ctx.primary_groups():
        qq = ctx.value(group, "stats", "qq")
        if not isinstance(qq, Mapping):
            continue
        coords, sample, gauss, stable = (
            _list(qq.get(key)) for key in ("coords", "sample", "gaussian", "stable")
        )
        alpha = S.array(S.get(group.stats, "stable", "alpha"))
        probabilities = S.array(qq.get("probabilities"))
        for i, coord in enumerate(coords[:3]):
            arrays = [
                S.array(a[i]) if i < len(a) else None for a in (sample, gauss, stable)
            ]
            if arrays[0] is None or arrays[0].ndim != 1:
                ctx.note(f"{group.label}: no sample quantiles for coordinate {coord}")
                continue
            a = None
            if alpha is not None and isinstance(coord, int) and 0 <= coord < alpha.size:
                a = S.number(alpha[coord])
            panels.append((group, coord, a, probabilities, *arrays))
    if not panels:
        ctx.note("no QQ data in the summary")
        return None
    rows: list[list] = []
    for p in panels:
        if not rows or rows[-1][0][0] is not p[0]:
            rows.append([])
        rows[-1].append(p)
    ncols = max(len(row) for row in rows)
    fig = st.new_figure(2.5 * ncols + 0.4, 2.3 * len(rows) + 0.4)
    axes = fig.subplots(len(rows), ncols, squeeze=False)
    for r, row in enumerate(rows):
        for c in range(ncols):
            ax = axes[r][c]
            if c >= len(row):
                ax.remove()
                continue
            group, coord, a, probabilities, sample, gauss, stable = row[c]
            unit = _qq_panel(ax, probabilities, sample, gauss, stable)
            title = f"{group.arch} · coordinate {coord}"
            if a is not None:
                title += f" · α̂ {a:.2f}"
            ax.set_title(title, color=ctx.colors[group.arch])
            if c == 0:
                ax.set_ylabel(f"SGN quantile{unit}")
            if r + 1 >= len(rows) or c >= len(rows[r + 1]):
                ax.set_xlabel(f"fitted-law quantile{unit}")
    handles = [
        Line2D(
            [],
            [],
            color=st.GAUSSIAN_COLOR,
            marker="o",
            ls="",
            ms=4,
            label="Gaussian fit",
        ),
        Line2D(
            [],
            [],
            color=st.STABLE_COLOR,
            marker="s",
            ls="",
            ms=3.5,
            mfc="none",
            label="α-stable fit",
        ),
        Line2D([], [], color=st.REFERENCE_COLOR, lw=0.8, label="y = x"),
    ]
    fig.legend(handles=handles, loc="outside upper right", ncols=3)
    return fig


def _gaussian_sd(probabilities, gauss) -> float | None:
    """sigma of the Gaussian fit: the slope of its quantiles on Phi^-1(p)."""
    if probabilities is None or gauss is None or gauss.shape != probabilities.shape:
        return None
    ok = np.isfinite(probabilities) & np.isfinite(gauss)
    ok &= (probabilities > 0) & (probabilities < 1)
    if ok.sum() < 2:
        return None
    normal = statistics.NormalDist()
    z = np.array([normal.inv_cdf(p) for p in probabilities[ok]])
    slope = float(np.polyfit(z, gauss[ok], 1)[0])
    return slope if slope > 0 else None


def _qq_panel(ax, probabilities, sample, gauss, stable) -> str:
    """Draws one QQ panel; returns the unit of its axes for the labels."""
    finite = sample[np.isfinite(sample)]
    if finite.size == 0:
        _empty(ax, "no quantiles")
        return ""
    # In units of the Gaussian fit's sigma, so that panels read alike and
    # the tick labels stay short whatever the gradients' scale.
    sd = _gaussian_sd(probabilities, gauss)
    unit = " (σ of Gaussian fit)" if sd else ""
    if sd:
        sample = sample / sd
        gauss = gauss / sd
        stable = None if stable is None else stable / sd
        finite = finite / sd
    # The Gaussian's quantiles set the frame too, so that a sample piled
    # up at zero (a rarely active unit) still shows against its fit.
    reach = [finite]
    if gauss is not None and gauss.shape == sample.shape:
        reach.append(gauss[np.isfinite(gauss)])
    lim = 1.15 * float(np.max(np.abs(np.concatenate(reach)))) or 1.0
    ax.plot([-lim, lim], [-lim, lim], color=st.REFERENCE_COLOR, lw=0.8)
    for law, color, marker, mfc in (
        (gauss, st.GAUSSIAN_COLOR, "o", st.GAUSSIAN_COLOR),
        (stable, st.STABLE_COLOR, "s", "none"),
    ):
        if law is None or law.shape != sample.shape:
            continue
        inside = np.abs(law) <= lim
        ax.plot(
            law[inside],
            sample[inside],
            marker,
            color=color,
            mfc=mfc,
            ms=3.5,
            mew=0.8,
            ls="",
        )
        for side, tri in ((1, ">"), (-1, "<")):
            out = np.sign(law) == side
            out &= ~inside
            if out.any():
                ax.plot(
                    np.full(out.sum(), side * lim * 0.98),
                    sample[out],
                    tri,
                    color=color,
                    ms=4,
                    ls="",
                    clip_on=False,
                )
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal", adjustable="box")
    if not sd:
        ax.ticklabel_format(style="sci", scilimits=(-2, 3))
    return unit


def _tail_index(ctx: _Context) -> Figure | None:
    panels = []
    for group in ctx.primary_groups():
        tail = ctx.value(group, "stats", "tail_index")
        est = S.finite(S.get(tail, "per_coordinate", "estimate"))
        if est.size == 0:
            if tail is not None:
                ctx.note(f"{group.label}: no per-coordinate tail indices")
            continue
        alpha = S.finite(S.get(group.stats, "stable", "alpha"))
        pooled = S.number(S.get(tail, "pooled", "estimate"))
        panels.append((group, est, alpha, pooled))
    if not panels:
        ctx.note("no tail indices in the summary")
        return None
    ncols = min(3, len(panels))
    fig = st.new_figure(2.6 * ncols + 0.5, 2.2 * math.ceil(len(panels) / ncols) + 0.4)
    axes = _grid(fig, len(panels), ncols)
    for ax, (group, est, alpha, pooled) in zip(axes, panels):
        color = ctx.colors[group.arch]
        values = [est, alpha, [pooled or 0.0, 2.0]]
        top = max(
            2.3,
            float(
                np.quantile(
                    np.concatenate(
                        [np.asarray(v, dtype=float).ravel() for v in values]
                    ),
                    0.99,
                )
            )
            * 1.05,
        )
        bins = np.linspace(0.0, top, 36)
        ax.hist(np.clip(est, 0, top), bins=bins, color=color, alpha=0.75, lw=0)
        if alpha.size:
            ax.hist(
                np.clip(alpha, 0, top),
                bins=bins,
                histtype="step",
                color=st.STABLE_COLOR,
                lw=1.1,
            )
        ax.axvline(2.0, color=st.MUTED, lw=1.2)
        if pooled is not None:
            ax.axvline(pooled, color=st.REFERENCE_COLOR, ls="--", lw=1.0)
            left = pooled < 0.3 * top  # label on the roomier side of the line
            ax.text(
                pooled,
                0.97,
                f" pooled {pooled:.2f}" if left else f"pooled {pooled:.2f} ",
                transform=ax.get_xaxis_transform(),
                va="top",
                ha="left" if left else "right",
                fontsize=7,
                bbox={
                    "facecolor": "white",
                    "edgecolor": "none",
                    "pad": 0.5,
                    "alpha": 0.8,
                },
            )
        ax.set_title(_title(group), color=color)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
        ax.set_xlabel("tail index α")
        ax.set_xlim(0, top)
    for ax in axes[::ncols]:
        ax.set_ylabel("coordinates")
    handles = [
        Patch(color="#555555", alpha=0.75, label="tail index per coordinate"),
        Line2D([], [], color=st.STABLE_COLOR, label="stable α per coordinate"),
        Line2D([], [], color=st.REFERENCE_COLOR, ls="--", label="pooled"),
        Line2D([], [], color=st.MUTED, lw=1.2, label="α = 2 (Gaussian)"),
    ]
    fig.legend(handles=handles, loc="outside upper right", ncols=4)
    return fig


_VERDICTS = (
    ("gaussian", "Gaussian", st.GAUSSIAN_COLOR),
    ("stable", "α-stable", st.STABLE_COLOR),
    ("neither", "neither", "#DDCC77"),
)


def _marginals(ctx: _Context) -> Figure | None:
    bars, tests = [], []
    for group in S.groups(ctx.summary):
        verdict = ctx.value(group, "stats", "marginal_verdict")
        counts = [S.number(S.get(verdict, key)) for key, _, _ in _VERDICTS]
        if verdict is not None and all(c is not None for c in counts):
            total = float(sum(counts))  # type: ignore[arg-type]
            if total > 0:
                shares = [c / total for c in counts]  # type: ignore[operator]
                bars.append((group, shares))
        per_test = S.get(group.stats, "gaussianity", "tests")
        if isinstance(per_test, Mapping):
            for name, result in per_test.items():
                share = S.number(S.get(result, "fraction_rejected"))
                if share is not None:
                    tests.append((group, str(name), share))
    if not bars and not tests:
        ctx.note("no marginal verdicts or Gaussianity tests in the summary")
        return None
    height = 0.28 * max(len(bars), len({t[1] for t in tests}) * 1.2) + 1.2
    fig = st.new_figure(7.4, max(2.4, height))
    left, right = fig.subplots(1, 2, width_ratios=(1.3, 1.0))
    for i, (_, shares) in enumerate(bars):
        start = 0.0
        for share, (_, _, color) in zip(shares, _VERDICTS):
            left.barh(i, share, left=start, color=color, height=0.7, lw=0)
            if share >= 0.12:
                left.text(
                    start + share / 2,
                    i,
                    f"{share:.0%}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if color != "#DDCC77" else "#333333",
                )
            start += share
    left.set_yticks(range(len(bars)), [_title(g) for g, _ in bars])
    for tick, (group, _) in zip(left.get_yticklabels(), bars):
        tick.set_color(ctx.colors[group.arch])
    left.invert_yaxis()
    left.set_xlim(0, 1)
    left.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0%}"))
    left.set_xlabel("share of coordinates")
    left.grid(axis="y", visible=False)
    names = list(dict.fromkeys(t[1] for t in tests))
    for group, name, share in tests:
        filled = group.kind == S.IN_TRAINING
        color = ctx.colors[group.arch]
        offset = 0.12 if not filled else -0.12
        right.plot(
            share,
            names.index(name) + offset,
            "o",
            color=color,
            mfc=color if filled else "white",
            ms=5,
            mew=1.2,
        )
    right.set_yticks(range(len(names)), names)
    right.invert_yaxis()
    right.set_xlim(-0.03, 1.03)
    right.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0%}"))
    right.set_xlabel("coordinates rejecting normality")
    right.grid(axis="y", visible=False)
    handles: list[Artist] = [Patch(color=c, label=label) for _, label, c in _VERDICTS]
    handles += [
        Line2D([], [], color=ctx.colors[a], marker="o", ls="", label=a)
        for a in ctx.archs
        if any(t[0].arch == a for t in tests)
    ]
    fig.legend(handles=handles, loc="outside upper right", ncols=len(handles))
    return fig


_METRICS = (
    ("score", "score"),
    ("marginal_distance", "marginal distance"),
    ("acf_distance", "ACF distance"),
)


def _drivers(ctx: _Context) -> Figure | None:
    rows = []
    for kind in ctx.kinds:
        found = []
        for arch in ctx.archs:
            group = S.group_of(ctx.summary, arch, kind)
            if group is None:
                continue
            drivers = ctx.value(group, "drivers", "drivers")
            if isinstance(drivers, Mapping) and drivers:
                found.append((group, drivers))
        if found:
            rows.append((kind, found))
    if not rows:
        ctx.note("no fitted drivers in the summary")
        return None
    names = [d for d in st.DRIVER_ORDER if any(d in dr for _, f in rows for _, dr in f)]
    names += sorted({d for _, f in rows for _, dr in f for d in dr} - set(names))
    width = 0.8 / len(names)
    num_archs = max(len(found) for _, found in rows)
    fig = st.new_figure(
        max(6.6, 3 * (0.9 + 0.45 * num_archs) + 0.6), 2.3 * len(rows) + 0.5
    )
    axes = fig.subplots(len(rows), len(_METRICS), squeeze=False)
    for r, (kind, found) in enumerate(rows):
        for c, (metric, label) in enumerate(_METRICS):
            ax = axes[r][c]
            top = 0.0
            for x, (group, drivers) in enumerate(found):
                best = S.get(group.entry, "drivers", "best")
                for d, name in enumerate(names):
                    value = S.number(S.get(drivers, name, metric))
                    if value is None:
                        continue
                    pos = x - 0.4 + width * (d + 0.5)
                    is_best = name == best
                    ax.bar(
                        pos,
                        value,
                        width * 0.92,
                        color=st.driver_color(name),
                        alpha=1.0 if is_best else 0.45,
                        lw=0,
                    )
                    top = max(top, value)
                    if is_best:
                        ax.plot(
                            pos,
                            value,
                            "*",
                            color=st.REFERENCE_COLOR,
                            ms=7,
                            transform=ax.transData,
                            clip_on=False,
                            markeredgewidth=0,
                        )
            ax.set_xticks(range(len(found)), [_arch_tick(g, c == 0) for g, _ in found])
            ax.set_xlim(-0.6, len(found) - 0.4)
            if num_archs > 4:
                for tick in ax.get_xticklabels():
                    tick.set(rotation=30, ha="right", rotation_mode="anchor")
            for tick, (group, _) in zip(ax.get_xticklabels(), found):
                tick.set_color(ctx.colors[group.arch])
            ax.set_ylim(0, top * 1.2 or 1.0)
            ax.grid(axis="x", visible=False)
            ax.set_ylabel(label)
            if c == 0:
                ax.set_title(f"{st.protocol_label(kind)}: {label}")
            elif r == 0:
                ax.set_title(label)
    handles: list[Artist] = [
        Patch(color=st.driver_color(n), label=st.driver_label(n)) for n in names
    ]
    handles.append(
        Line2D(
            [],
            [],
            marker="*",
            ls="",
            color=st.REFERENCE_COLOR,
            label="best (bootstrap confidence under the name)",
            ms=7,
        )
    )
    fig.legend(handles=handles, loc="outside upper right", ncols=len(handles))
    return fig


_SWEEP_LABELS = {
    "hurst": "Hurst exponent H of the fBM driver",
    "alpha": "stability index α of the Lévy driver",
    "sigma": "noise scale σ of the Brownian driver",
    "curvature": "curvature of the minimum",
}
# Where the architectures' fitted values sit on a sweep's axis.
_FITTED = {
    "hurst": ("fbm", "hurst"),
    "alpha": ("levy", "alpha"),
    "sigma": ("brownian", "sigma"),
}


def _escape(ctx: _Context) -> Figure | None:
    escape, reason = S.lookup(ctx.summary, "escape")
    if reason or not isinstance(escape, Mapping):
        ctx.note(f"no escape sweep: {reason or 'escape is not a dict'}")
        return None
    sweeps = []
    for key, sweep in escape.items():
        if key == "error":
            continue
        if sweep is None:
            why = escape.get("error")
            ctx.note(f"escape sweep '{key}' is null" + (f" ({why})" if why else ""))
            continue
        values = S.array(S.get(sweep, "values"))
        mean = S.array(S.get(sweep, "mean_escape_time"))
        if values is None or mean is None or values.shape != mean.shape:
            ctx.note(
                f"escape sweep '{key}': values and mean_escape_time missing "
                "or of different lengths"
            )
            continue
        sweeps.append((key, sweep, values, mean))
    if not sweeps:
        ctx.note("no escape sweep to draw")
        return None
    fig = st.new_figure(2.7 * len(sweeps) + 0.4, 2.7)
    axes = fig.subplots(1, len(sweeps), squeeze=False)[0]
    for ax, (key, sweep, values, mean) in zip(axes, sweeps):
        _escape_panel(ctx, ax, key, sweep, values, mean)
    axes[0].set_ylabel("mean escape time (SDE time units)")
    handles = [
        Line2D([], [], color="#555555", marker="o", label="all paths escaped"),
        Line2D(
            [],
            [],
            color="#555555",
            marker="o",
            mfc="white",
            label="some censored (lower bound)",
        ),
        Line2D([], [], color=st.REFERENCE_COLOR, ls="--", label="theory"),
        Line2D([], [], color=st.MUTED, ls=":", label="horizon"),
    ]
    fig.legend(handles=handles, loc="outside upper right", ncols=4)
    return fig


def _escape_panel(ctx, ax, key, sweep, values, mean) -> None:
    driver = _text(S.get(sweep, "driver"))
    param = _text(S.get(sweep, "parameter")) or key
    color = st.driver_color(driver)
    low = S.array(S.get(sweep, "ci_low"))
    high = S.array(S.get(sweep, "ci_high"))
    censored = S.array(S.get(sweep, "censored_fraction"))
    order = np.argsort(values)
    x, y = values[order], mean[order]
    if low is not None and high is not None and _same_shape(values, low, high):
        yerr = np.vstack([y - low[order], high[order] - y]).clip(min=0)
        ax.errorbar(x, y, yerr=yerr, color=color, lw=1.2, capsize=2, ms=0)
    ax.plot(x, y, color=color, lw=1.2)
    cens = (
        censored[order]
        if censored is not None and censored.shape == values.shape
        else np.zeros_like(y)
    )
    hollow = np.nan_to_num(cens) > 0
    ax.plot(x[~hollow], y[~hollow], "o", color=color, ms=5)
    ax.plot(x[hollow], y[hollow], "o", color=color, mfc="white", ms=5, mew=1.2)
    for xi, yi, ci in zip(x[hollow], y[hollow], cens[hollow]):
        ax.annotate(
            f"{ci:.0%}" if ci >= 0.005 else "<1%",
            (xi, yi),
            xytext=(4, -3),
            textcoords="offset points",
            ha="left",
            va="top",
            fontsize=6.5,
            color=st.MUTED,
        )
    horizon = S.number(S.get(sweep, "horizon"))
    reach = np.concatenate([y, high if _same_shape(values, high) else []])
    reach = reach[np.isfinite(reach)]
    top = float(reach.max()) if reach.size else np.nan
    # The horizon caps every censored path; drawn only when it is near the
    # data, where it explains why the curve flattens.
    if horizon is not None and np.isfinite(top) and horizon <= 10 * top:
        ax.axhline(horizon, color=st.MUTED, ls=":", lw=1.0)
    theory = S.get(sweep, "theory")
    theory_values = S.array(S.get(theory, "values"))
    if theory_values is not None and theory_values.shape == values.shape:
        ax.plot(x, theory_values[order], color=st.REFERENCE_COLOR, ls="--", lw=1.0)
    elif isinstance(theory, Mapping) and theory.get("name"):
        ctx.note(f"escape sweep '{key}': theory '{theory['name']}' has no values")
    positive = np.concatenate(
        [
            y,
            theory_values
            if theory_values is not None and theory_values.shape == y.shape
            else y,
        ]
    )
    positive = positive[np.isfinite(positive)]
    # Escape times grow exponentially with the barrier-to-noise ratio
    # (Kramers), so they are read on a log axis whenever they can be.
    if positive.size and positive.min() > 0 and positive.max() / positive.min() > 10:
        _log_axis(ax, positive)
    _fitted_marks(ctx, ax, param, x)
    ax.set_xlabel(_SWEEP_LABELS.get(param, str(param)))
    potential = S.get(sweep, "potential")
    title = st.driver_label(driver) if isinstance(driver, str) else key
    ax.set_title(f"{title}" + (f" · {potential}" if potential else ""))


def _log_axis(ax, values: np.ndarray) -> None:
    """A log y axis with plain tick labels (20, 50, 100, ...)."""
    ax.set_yscale("log")
    plain = FuncFormatter(lambda v, _: f"{v:g}")
    ax.yaxis.set_major_formatter(plain)
    if np.log10(values.max() / values.min()) < 1.5:
        ax.yaxis.set_minor_locator(LogLocator(subs=(2.0, 5.0)))
        ax.yaxis.set_minor_formatter(plain)
    else:
        ax.yaxis.set_minor_formatter(NullFormatter())


def _fitted_marks(ctx, ax, param, x) -> None:
    if param not in _FITTED or x.size < 2:
        return
    driver, name = _FITTED[param]
    lo, hi = float(x.min()), float(x.max())
    pad = 0.05 * (hi - lo)
    for group in ctx.primary_groups():
        value = S.number(
            S.get(group.entry, "drivers", "drivers", driver, "params", name)
        )
        if value is None or not lo - pad <= value <= hi + pad:
            continue
        ax.plot(
            value,
            0.0,
            "^",
            color=ctx.colors[group.arch],
            ms=7,
            transform=ax.get_xaxis_transform(),
            clip_on=False,
            zorder=5,
        )


def _first(sweep: Mapping, key: str) -> float | None:
    """The first entry of a sweep's list ``key`` (fitted sweeps have one)."""
    values = S.array(S.get(sweep, key))
    return S.number(values[0]) if values is not None and values.size else None


def _escape_fitted(ctx: _Context) -> Figure | None:
    """Points: architecture x driver, from ``architectures.<arch>.escape``."""
    found = []
    for arch, entry in S.architectures(ctx.summary).items():
        escape, reason = S.lookup(entry, "escape")
        if not isinstance(escape, Mapping) or not escape:
            if reason and "is missing" not in reason:
                ctx.note(f"{arch}: {reason}")
            continue
        points = {}
        for driver, sweep in escape.items():
            if driver == "error":
                continue
            mean = _first(sweep, "mean_escape_time")
            if mean is None:
                ctx.note(f"{arch}: no escape time for the {driver} driver")
                continue
            points[str(driver)] = (
                mean,
                _first(sweep, "ci_low"),
                _first(sweep, "ci_high"),
                _first(sweep, "censored_fraction") or 0.0,
            )
        if points:
            found.append((arch, points))
    if not found:
        ctx.note("no per-architecture escape times in the summary")
        return None
    names = [d for d in st.DRIVER_ORDER if any(d in p for _, p in found)]
    names += sorted({d for _, p in found for d in p} - set(names))
    width = 0.8 / len(names)
    fig = st.new_figure(max(3.8, 1.3 * len(found) + 1.8), 2.8)
    ax = fig.subplots()
    values = []
    for x, (_, points) in enumerate(found):
        for d, name in enumerate(names):
            if name not in points:
                continue
            mean, low, high, censored = points[name]
            yerr = None
            if low is not None and high is not None:
                yerr = [[max(mean - low, 0)], [max(high - mean, 0)]]
            color = st.driver_color(name)
            ax.errorbar(
                x - 0.4 + width * (d + 0.5),
                mean,
                yerr=yerr,
                fmt="o",
                color=color,
                mfc="white" if censored > 0 else color,
                ms=7,
                mew=1.4,
                capsize=2,
                lw=1.1,
            )
            values += [v for v in (mean, low, high) if v is not None and v > 0]
    if values and min(values) > 0 and max(values) / min(values) > 10:
        _log_axis(ax, np.array(values))
    else:
        ax.set_ylim(bottom=0)
    ax.set_xticks(range(len(found)), [a for a, _ in found])
    ax.set_xlim(-0.6, len(found) - 0.4)
    for tick, (arch, _) in zip(ax.get_xticklabels(), found):
        tick.set_color(ctx.colors[arch])
    ax.grid(axis="x", visible=False)
    ax.set_ylabel("mean escape time (SDE time units)")
    handles = [
        Line2D(
            [],
            [],
            color=st.driver_color(n),
            marker="o",
            ls="",
            ms=6,
            label=st.driver_label(n),
        )
        for n in names
    ]
    handles.append(
        Line2D(
            [],
            [],
            color="#555555",
            marker="o",
            ls="",
            ms=6,
            mfc="white",
            label="some censored (lower bound)",
        )
    )
    fig.legend(handles=handles, loc="outside upper right", ncols=2)
    return fig


def _accuracy_vs_hurst(ctx: _Context) -> Figure | None:
    points: list[tuple] = []
    for arch in ctx.archs:
        entry = S.architectures(ctx.summary)[arch]
        acc = S.number(S.get(entry, "training", "test_accuracy"))
        gap = S.number(S.get(entry, "training", "generalization_gap"))
        if acc is None and gap is None:
            ctx.note(f"{arch}: no test accuracy or generalisation gap")
            continue
        for kind in ctx.kinds:
            group = S.group_of(ctx.summary, arch, kind)
            if group is None:
                continue
            hurst = S.get(group.stats, "hurst")
            median = S.number(S.get(hurst, "median"))
            if median is None:
                ctx.note(f"{group.label}: no median Ĥ")
                continue
            est = S.finite(S.get(hurst, "estimate"))
            iqr = np.quantile(est, [0.25, 0.75]) if est.size else None
            points.append((arch, kind, median, iqr, acc, gap))
    if not points:
        ctx.note("no architecture with both accuracy and Ĥ")
        return None
    fig = st.new_figure(6.6, 2.9)
    axes = fig.subplots(1, 2, sharex=True)
    for ax, index, label in (
        (axes[0], 4, "test accuracy (%)"),
        (axes[1], 5, "generalisation gap (pp)"),
    ):
        for arch in ctx.archs:
            mine = [p for p in points if p[0] == arch and p[index] is not None]
            if not mine:
                continue
            color = ctx.colors[arch]
            # The first protocol (in training when recorded) gets the filled
            # marker and the IQR bar; the others a hollow marker joined to it.
            first = mine[0]
            _, _, median, iqr = first[:4]
            y = 100 * first[index]
            if len(mine) > 1:
                ax.plot(
                    [p[2] for p in mine], [y] * len(mine), color=color, lw=0.8, ls=":"
                )
            for p in mine[1:]:
                ax.plot(p[2], y, "o", color=color, mfc="white", ms=6, mew=1.2)
            xerr = None
            if iqr is not None:
                xerr = [[max(median - iqr[0], 0)], [max(iqr[1] - median, 0)]]
            ax.errorbar(
                median, y, xerr=xerr, fmt="o", color=color, ms=6, capsize=2, lw=1.0
            )
            ax.annotate(
                arch,
                (median, y),
                xytext=(0, 7),
                textcoords="offset points",
                ha="center",
                fontsize=7.5,
                color=color,
            )
        ax.axvline(0.5, color=st.REFERENCE_COLOR, ls="--", lw=0.9)
        ax.set_xlabel("median Ĥ over coordinates")
        ax.set_ylabel(label)
        ax.margins(y=0.2)
    kinds = [k for k in ctx.kinds if any(p[1] == k for p in points)]
    handles = [
        Line2D(
            [],
            [],
            color="#555555",
            marker="o",
            ls="",
            mfc="#555555" if i == 0 else "white",
            label=st.protocol_label(k) + (" (bar: IQR)" if i == 0 else ""),
        )
        for i, k in enumerate(kinds)
    ]
    fig.legend(handles=handles, loc="outside upper right", ncols=len(handles))
    return fig


def _training(ctx: _Context) -> Figure | None:
    curves = []
    for arch, entry in S.architectures(ctx.summary).items():
        history = S.get(entry, "training", "history")
        if isinstance(history, Mapping):
            curves.append((arch, history))
    if not curves:
        ctx.note("no training history in the summary")
        return None
    fig = st.new_figure(6.6, 2.5)
    axes = fig.subplots(1, 2)
    drawn = False
    for ax, key, label, scale in (
        (axes[0], "loss", "training loss", 1.0),
        (axes[1], "accuracy", "training accuracy (%)", 100.0),
    ):
        for arch, history in curves:
            values = S.array(history.get(key))
            if values is None or values.size == 0:
                continue
            epochs = np.arange(1, values.size + 1)
            ax.plot(
                epochs,
                scale * values,
                color=ctx.colors[arch],
                marker="o",
                ms=3,
                label=arch,
            )
            drawn = True
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(label)
    axes[1].legend(loc="lower right")
    if not drawn:
        ctx.note("training histories are empty")
        return None
    return fig


_DRAW: dict[str, Callable[[_Context], Figure | None]] = {
    "hurst_distribution": _hurst_distribution,
    "hurst_methods": _hurst_methods,
    "acf": _acf,
    "qq": _qq,
    "tail_index": _tail_index,
    "marginals": _marginals,
    "drivers": _drivers,
    "escape": _escape,
    "escape_fitted": _escape_fitted,
    "accuracy_vs_hurst": _accuracy_vs_hurst,
    "training": _training,
}


def draw_all(summary: Mapping, out_dir) -> tuple[dict[str, pathlib.Path], dict]:
    """Writes every figure the summary supports; see :func:`figures`.

    Returns:
        ``(paths, notes)``: figure name -> PNG path, and figure name -> the
        sentences saying what was left out and why.
    """
    S.validate_summary(summary)
    folder = pathlib.Path(out_dir) / "figures"
    ctx = _Context(summary)
    paths = {}
    for name in FIGURE_NAMES:
        ctx.figure = name
        with st.style():
            try:
                fig = _DRAW[name](ctx)
            except (KeyError, TypeError, ValueError, IndexError) as exc:
                # A malformed section costs one figure, not the whole report;
                # the note puts the failure in the report for the reader.
                logger.warning("report figure %s failed: %r", name, exc)
                ctx.note(f"could not be drawn: {type(exc).__name__}: {exc}")
                continue
            if fig is not None:
                paths[name] = st.save(fig, folder / f"{name}.png")
    return paths, ctx.notes


def figures(summary: Mapping, out_dir) -> dict[str, pathlib.Path]:
    """Draws the report's figures as PNG files in ``out_dir/figures/``.

    Figures (file stems): ``hurst_distribution`` (Ĥ over coordinates per
    architecture and protocol, 0.5 marked), ``hurst_methods`` (median Ĥ by
    estimator), ``acf`` (ACF of SGN with the ±1.96/√T band and the fGn
    reference ρ(k) = ½(|k+1|^{2H} − 2|k|^{2H} + |k−1|^{2H})), ``qq`` (against
    the fitted Gaussian and α-stable laws), ``tail_index`` (per coordinate,
    pooled and α = 2 marked), ``drivers`` (score per driver per
    architecture), ``escape`` (escape time against H, α and σ with theory and
    censoring), ``accuracy_vs_hurst`` and ``training``. A figure whose data
    are missing from the summary is skipped (logged at INFO level).

    Args:
        summary: the ``summary.json`` dict (``docs/summary-schema.md`` s. 5).
        out_dir: the run's output folder; created if needed.

    Returns:
        Figure name -> path of the PNG written, in the order above.

    Raises:
        TypeError, ValueError: ``summary`` is not a run summary.

    References:
        Tan, Zhang & Liu, arXiv:2105.02062 (the figures' questions);
        Beran, "Statistics for Long-Memory Processes" (1994) (fGn ACF).
    """
    return draw_all(summary, out_dir)[0]
