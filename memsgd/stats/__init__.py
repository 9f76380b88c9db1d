"""Estimators on plain arrays: memory (Hurst), tails, stability, Gaussianity.

Every estimator takes a ``(T, C)`` array (time x series; a 1-D array is one
series), works on all columns at once, validates its input in one place and
returns a small frozen result object with ``to_dict()``. Only numpy and
scipy are imported here; TensorFlow Probability is imported lazily by
``acf(..., backend="tfp")``. See docs/stats.md for the accuracy tables.
"""

from memsgd.stats._analyze import SGNAnalysis, analyze
from memsgd.stats._gaussianity import (
    GaussianityResult,
    anderson_darling,
    benjamini_hochberg,
    gaussianity,
)
from memsgd.stats._hurst import (
    HurstResult,
    MemoryClasses,
    SlidingHurst,
    classify_memory,
    expected_rescaled_range,
    fgn_spectral_density,
    hurst,
    periodogram,
    sliding_hurst,
)
from memsgd.stats._memory import ACFResult, LjungBoxResult, acf, ljung_box
from memsgd.stats._stable import (
    MarginalVerdict,
    StableFit,
    fit_stable,
    marginal_verdict,
    stable_gof_pvalue,
)
from memsgd.stats._tails import (
    HillResult,
    PoolingWarning,
    TailIndexResult,
    hill,
    tail_index,
)

__all__ = [
    "ACFResult",
    "GaussianityResult",
    "HillResult",
    "HurstResult",
    "LjungBoxResult",
    "MarginalVerdict",
    "MemoryClasses",
    "PoolingWarning",
    "SGNAnalysis",
    "SlidingHurst",
    "StableFit",
    "TailIndexResult",
    "acf",
    "analyze",
    "anderson_darling",
    "benjamini_hochberg",
    "classify_memory",
    "expected_rescaled_range",
    "fgn_spectral_density",
    "fit_stable",
    "gaussianity",
    "hill",
    "hurst",
    "ljung_box",
    "marginal_verdict",
    "periodogram",
    "sliding_hurst",
    "stable_gof_pvalue",
    "tail_index",
]
