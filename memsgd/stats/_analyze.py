"""All statistics of one SGN matrix, as section 2 of docs/summary-schema.md.

:func:`analyze` runs the fast estimators on a ``(T, C)`` matrix (T steps of
C coordinates) and keeps the result objects; ``to_dict()`` reduces them to the
JSON block the report is drawn from. A block that fails is kept with ``None``
values and an ``"error"`` entry that says why.
"""

from __future__ import annotations

import dataclasses
import logging
import warnings

import numpy as np
from scipy import stats

from memsgd.stats import _gaussianity as gauss_mod
from memsgd.stats import _hurst as hurst_mod
from memsgd.stats import _memory as memory
from memsgd.stats import _stable as stable
from memsgd.stats import _tails as tails
from memsgd.stats._validate import as_series, check_int, to_float, to_list

logger = logging.getLogger(__name__)

# Methods reported under "hurst_methods", in this order; "dfa2" is DFA of
# order 2.
OTHER_METHODS: dict[str, dict] = {
    "local_whittle": {"method": "local_whittle"},
    "gph": {"method": "gph"},
    "rs": {"method": "rs"},
    "dfa": {"method": "dfa", "order": 1},
    "dfa2": {"method": "dfa", "order": 2},
    "aggvar": {"method": "aggvar"},
}
_ERRORS = (ValueError, FloatingPointError, np.linalg.LinAlgError)


@dataclasses.dataclass(frozen=True)
class SGNAnalysis:
    """Statistics of one ``(T, C)`` SGN matrix.

    Attributes:
        num_steps: ``T``.
        num_series: ``C``.
        blocks: section name -> JSON-safe dict (section 2 of the schema).
        hurst: the default :class:`~memsgd.stats.hurst.HurstResult`.
        gaussianity: the :class:`~memsgd.stats.gaussianity.GaussianityResult`.
        stable: the :class:`~memsgd.stats.stable.StableFit`.
    """

    num_steps: int
    num_series: int
    blocks: dict
    hurst: object = None
    gaussianity: object = None
    stable: object = None

    def to_dict(self) -> dict:
        """The section-2 dict: every key present, failures as ``None``."""
        return {"num_steps": self.num_steps, "num_series": self.num_series} | {
            k: self.blocks[k] for k in _BLOCK_KEYS
        }


_BLOCK_KEYS = (
    "hurst",
    "hurst_methods",
    "gaussianity",
    "tail_index",
    "stable",
    "marginal_verdict",
    "acf",
    "ljung_box",
    "qq",
)


def _failed(template: dict, err: Exception, what: str = "") -> dict:
    logger.warning("analysis block %s failed: %s", what or "?", err)
    return {k: None for k in template} | {"error": f"{type(err).__name__}: {err}"}


def analyze(
    x,
    seed: int = 0,
    *,
    hurst_method: str = "whittle",
    kind: str = "noise",
    fdr: float = 0.05,
    stable_method: str = "koutrouvelis",
    max_lag: int = 50,
    ljung_box_lags: int = 20,
    qq_series: int = 3,
    qq_points: int = 49,
) -> SGNAnalysis:
    """Runs every fast estimator on a ``(T, C)`` SGN matrix.

    Args:
        x: ``(T, C)`` (or ``(T,)``) noise matrix, time along axis 0.
        seed: seed of the bootstrap null of the stable goodness-of-fit test
            and of the Monte-Carlo quantiles in the QQ block.
        hurst_method: the headline Hurst estimator (``"whittle"``).
        kind: ``"noise"`` or ``"path"`` (a path is differenced once and every
            block sees the noise).
        fdr: Benjamini-Hochberg rate of the normality battery.
        stable_method: ``"koutrouvelis"`` or ``"mcculloch"`` (not ``"mle"``:
            too slow for thousands of series).
        max_lag: largest autocorrelation lag reported.
        ljung_box_lags: lags of the Ljung-Box test.
        qq_series: number of representative series in the QQ block.
        qq_points: probabilities per QQ line.

    Returns:
        An :class:`SGNAnalysis`.
    """
    if stable_method not in ("koutrouvelis", "mcculloch"):
        raise ValueError(
            "`stable_method` must be one of ('koutrouvelis', 'mcculloch'). "
            f"Received: stable_method={stable_method!r}"
        )
    check_int("qq_series", qq_series, 1)
    check_int("qq_points", qq_points, 3)
    arr = as_series(x, kind=kind, min_length=32)
    t, c = arr.shape
    max_lag = min(check_int("max_lag", max_lag, 1), t - 1)
    blocks: dict = {}

    h_res = None
    template = {
        "method": None, "kind": None, "estimate": None, "stderr": None,
        "ci_low": None, "ci_high": None, "mean": None, "median": None, "sd": None,
        "fraction_below_half": None, "fraction_above_half": None, "classes": None,
    }  # fmt: skip
    try:
        h_res = hurst_mod.hurst(arr, method=hurst_method)
        classes = hurst_mod.classify_memory(h_res)
        blocks["hurst"] = {
            "method": hurst_method,
            "kind": kind,
            "estimate": to_list(h_res.estimate),
            "stderr": to_list(h_res.stderr),
            "ci_low": to_list(h_res.ci_low),
            "ci_high": to_list(h_res.ci_high),
            **hurst_mod.summarize(h_res),
            "fraction_below_half": float(np.mean(h_res.ci_high < 0.5)),
            "fraction_above_half": float(np.mean(h_res.ci_low > 0.5)),
            "classes": classes.counts,
        }
    except _ERRORS as err:
        blocks["hurst"] = _failed(template, err, "hurst")

    blocks["hurst_methods"] = {}
    for name, kwargs in OTHER_METHODS.items():
        try:
            res = hurst_mod.hurst(arr, **kwargs)
            blocks["hurst_methods"][name] = hurst_mod.summarize(res)
        except _ERRORS as err:
            blocks["hurst_methods"][name] = _failed(
                {"mean": None, "median": None, "sd": None}, err, f"hurst_methods:{name}"
            )

    g_res = None
    try:
        g_res = gauss_mod.gaussianity(arr, fdr=fdr)
        blocks["gaussianity"] = {
            "fdr": float(fdr),
            "tests": {
                name: {"fraction_rejected": g_res.fraction_rejected(name)}
                for name in g_res.pvalues
            },
            "fraction_rejected_any": g_res.fraction_rejected(),
        }
    except _ERRORS as err:
        blocks["gaussianity"] = _failed(
            {"fdr": None, "tests": None, "fraction_rejected_any": None},
            err,
            "gaussianity",
        )

    blocks["tail_index"] = _tail_block(arr)

    fit = None
    try:
        fit = stable.fit_stable(arr, method=stable_method)
        blocks["stable"] = fit.to_dict() | {
            "mean_alpha": to_float(np.nanmean(fit.alpha)),
            "median_alpha": to_float(np.nanmedian(fit.alpha)),
        }
    except _ERRORS as err:
        blocks["stable"] = _failed(
            {
                "method": None, "parameterization": None, "alpha": None,
                "beta": None, "scale": None, "loc": None, "mean_alpha": None,
                "median_alpha": None,
            },
            err,
            "stable",
        )  # fmt: skip

    try:
        if g_res is None or fit is None:
            raise ValueError("needs the normality battery and the stable fit")
        # A series without a normality test (constant) is not "gaussian".
        untested = ~np.isfinite(g_res.combined_pvalue)
        verdict = stable.marginal_verdict(
            arr, g_res.rejected_any | untested, fit, seed=seed
        )
        blocks["marginal_verdict"] = dict(verdict.counts)
    except _ERRORS as err:
        blocks["marginal_verdict"] = _failed(
            dict.fromkeys(stable.VERDICTS), err, "marginal_verdict"
        )

    try:
        blocks["acf"] = memory.acf(arr, max_lag).to_dict()
    except _ERRORS as err:
        blocks["acf"] = _failed(
            {"lags": None, "mean": None, "q10": None, "q90": None, "band": None},
            err,
            "acf",
        )
    try:
        lb = memory.ljung_box(arr, min(ljung_box_lags, t - 1))
        blocks["ljung_box"] = {
            "lags": lb.lags,
            "fraction_rejected": lb.fraction_rejected(),
        }
    except _ERRORS as err:
        blocks["ljung_box"] = _failed(
            {"lags": None, "fraction_rejected": None}, err, "ljung_box"
        )

    blocks["qq"] = _qq_block(arr, fit, qq_series, qq_points, seed)
    return SGNAnalysis(
        num_steps=t,
        num_series=c,
        blocks=blocks,
        hurst=h_res,
        gaussianity=g_res,
        stable=fit,
    )


def _tail_block(arr: np.ndarray) -> dict:
    out: dict = {}
    try:
        per = tails.tail_index(arr)
        out["per_coordinate"] = {
            "estimate": to_list(per.estimate),
            **tails.tail_summary(per.estimate),
        }
    except _ERRORS as err:
        out["per_coordinate"] = _failed(
            {"estimate": None, "mean": None, "median": None}, err, "tail_index"
        )
    try:
        with warnings.catch_warnings():
            # The warning text is kept in the result; do not raise it here.
            warnings.simplefilter("ignore", tails.PoolingWarning)
            pooled = tails.tail_index(arr, pooled=True)
        if pooled.warning:
            logger.warning("%s", pooled.warning)
        out["pooled"] = {
            "estimate": to_float(pooled.estimate[0]),
            "warning": pooled.warning,
        }
    except _ERRORS as err:
        out["pooled"] = _failed({"estimate": None, "warning": None}, err, "pooled")
    try:
        hill = tails.hill(arr)
        out["hill"] = {
            "estimate": to_list(hill.estimate),
            **tails.tail_summary(hill.estimate),
        }
    except _ERRORS as err:
        out["hill"] = _failed(
            {"estimate": None, "mean": None, "median": None}, err, "hill"
        )
    return out


def _qq_block(arr, fit, num_series: int, num_points: int, seed: int) -> dict:
    template = {
        "coords": None, "probabilities": None, "sample": None,
        "gaussian": None, "stable": None,
    }  # fmt: skip
    try:
        if fit is None:
            raise ValueError("needs the stable fit")
        # Representative series: the 10%, 50%, 90% ... quantiles of alpha-hat.
        order = np.argsort(fit.alpha, kind="stable")
        picks = np.linspace(0.1, 0.9, num_series) if num_series > 1 else [0.5]
        coords = sorted({int(order[int(q * (len(order) - 1))]) for q in picks})
        probs = (np.arange(1, num_points + 1) - 0.5) / num_points
        rng = np.random.default_rng(seed)
        sample, gaussian, stable_q = [], [], []
        for j in coords:  # a few series, each one ppf call
            col = arr[:, j]
            sample.append(to_list(np.quantile(col, probs)))
            gaussian.append(
                to_list(col.mean() + col.std(ddof=1) * stats.norm.ppf(probs))
            )
            # Quantiles of the fitted law from 20000 draws (scipy's stable
            # ppf takes ~1 s per line); their Monte-Carlo error is < 1% of
            # the scale in the central 96%.
            draws = stats.levy_stable.rvs(
                fit.alpha[j],
                fit.beta[j],
                loc=fit.loc[j],
                scale=fit.scale[j],
                size=20000,
                random_state=rng,
            )
            q = np.quantile(draws, probs)
            stable_q.append(to_list(q))
        return {
            "coords": coords,
            "probabilities": to_list(probs),
            "sample": sample,
            "gaussian": gaussian,
            "stable": stable_q,
        }
    except _ERRORS as err:
        return _failed(template, err, "qq")
