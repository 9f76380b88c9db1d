"""``analyze`` against section 2 of docs/summary-schema.md."""

import json
import pathlib
import re

import numpy as np
import pytest
from test_stats_generators import fgn

from memsgd import stats as ms
from memsgd.stats import _tails
from memsgd.stats._hurst import CLASSES

SCHEMA = pathlib.Path(__file__).resolve().parents[1] / "docs" / "summary-schema.md"

# Section 2 of the schema, written out; test_keys_match_the_schema_file
# checks that this copy still matches the document.
TOP = {
    "num_steps", "num_series", "hurst", "hurst_methods", "gaussianity",
    "tail_index", "stable", "marginal_verdict", "acf", "ljung_box", "qq",
}  # fmt: skip
BLOCKS = {
    "hurst": {
        "method", "kind", "estimate", "stderr", "ci_low", "ci_high", "mean",
        "median", "sd", "fraction_below_half", "fraction_above_half", "classes",
    },
    "gaussianity": {"fdr", "tests", "fraction_rejected_any"},
    "tail_index": {"per_coordinate", "pooled", "hill"},
    "stable": {
        "method", "parameterization", "alpha", "beta", "scale", "loc",
        "mean_alpha", "median_alpha",
    },
    "marginal_verdict": {"gaussian", "stable", "neither"},
    "acf": {"lags", "mean", "q10", "q90", "band"},
    "ljung_box": {"lags", "fraction_rejected"},
    "qq": {"coords", "probabilities", "sample", "gaussian", "stable"},
}  # fmt: skip


@pytest.fixture(scope="module")
def result():
    # 64 fGn(H = 0.3) series of 512 steps with mixed scales: anti-persistent,
    # Gaussian marginals.
    rng = np.random.default_rng(200)
    x = fgn(512, 0.3, 64, seed=201) * 10 ** rng.uniform(-1, 0, 64)
    return ms.analyze(x, seed=0)


def test_keys_match_the_schema_file():
    text = SCHEMA.read_text()
    section = text[text.index("## 2.") : text.index("## 3.")]
    for key in TOP | set().union(*BLOCKS.values()):
        assert re.search(rf'"{re.escape(key)}"', section), key


def test_exact_keys_and_json(result):
    out = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert set(out) == TOP
    for block, keys in BLOCKS.items():
        assert set(out[block]) == keys, block
    assert set(out["hurst"]["classes"]) == set(CLASSES)
    assert set(out["hurst_methods"]) == {
        "local_whittle", "gph", "rs", "dfa", "dfa2", "aggvar",
    }  # fmt: skip
    for stats_ in out["hurst_methods"].values():
        assert set(stats_) == {"mean", "median", "sd"}
    assert set(out["tail_index"]["per_coordinate"]) == {"estimate", "mean", "median"}
    assert set(out["tail_index"]["pooled"]) == {"estimate", "warning"}
    assert set(out["tail_index"]["hill"]) == {"estimate", "mean", "median"}
    assert len(out["hurst"]["estimate"]) == 64
    assert len(out["acf"]["lags"]) == len(out["acf"]["mean"])


def test_values_make_sense(result):
    out = result.to_dict()
    assert out["num_steps"] == 512 and out["num_series"] == 64
    # fGn 0.3 at n = 512: Whittle SE ~0.025, so CIs lie below 0.5.
    assert abs(out["hurst"]["mean"] - 0.3) < 0.02
    assert out["hurst"]["fraction_below_half"] > 0.95
    assert out["hurst"]["classes"]["anti-persistent"] == round(
        out["hurst"]["fraction_below_half"] * 64
    )
    # Gaussian marginals: few rejections, alpha near 2, verdict gaussian.
    assert out["gaussianity"]["fraction_rejected_any"] <= 0.05
    assert out["stable"]["median_alpha"] > 1.9
    assert out["marginal_verdict"]["gaussian"] >= 60
    # Mixed scales: the pooled tail index warns.
    assert out["tail_index"]["pooled"]["warning"]
    # Anti-persistence shows in the ACF at lag 1 and in Ljung-Box.
    assert out["acf"]["mean"][1] < -0.1
    assert out["ljung_box"]["fraction_rejected"] > 0.9


def test_constant_column_gives_null_not_crash():
    x = np.random.default_rng(202).standard_normal((256, 4))
    x[:, 2] = 1.0
    out = json.loads(json.dumps(ms.analyze(x).to_dict(), allow_nan=False))
    assert out["hurst"]["estimate"][2] is None
    assert out["hurst"]["estimate"][0] is not None
    assert out["stable"]["alpha"][2] is None
    assert out["marginal_verdict"]["neither"] >= 1


def test_failed_block_has_error_sibling(monkeypatch):
    # Bad input is refused up front (one place validates) ...
    with pytest.raises(ValueError, match="at least 32 time steps"):
        ms.analyze(np.ones((3, 2)), kind="path")

    # ... and a block that fails inside keeps its keys, with None values
    # and an "error" sibling that says why; the other blocks still run.
    def broken(*args, **kwargs):
        raise ValueError("`x` is broken. Received: on purpose")

    monkeypatch.setattr(_tails, "hill", broken)
    out = ms.analyze(np.random.default_rng(0).standard_normal((64, 3))).to_dict()
    hill = out["tail_index"]["hill"]
    assert set(hill) == {"estimate", "mean", "median", "error"}
    assert hill["estimate"] is None and "on purpose" in hill["error"]
    assert out["hurst"]["mean"] is not None


def test_import_is_light():
    # stats must not pull in TensorFlow, capture, sde or cli (DESIGN.md).
    import subprocess
    import sys

    code = (
        "import sys, memsgd.stats; "
        "bad = [m for m in sys.modules if m.split('.')[0] == 'tensorflow' "
        "or m.startswith(('memsgd.capture', 'memsgd.sde', 'memsgd.cli'))]; "
        "print(bad); sys.exit(bool(bad))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
