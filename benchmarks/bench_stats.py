"""Accuracy and speed of memsgd.stats next to nolds, hurst and fathon.

Run: ``python benchmarks/bench_stats.py [--reps 100] [--quick]``. Prints
markdown tables (copied into docs/stats.md):

1. Hurst accuracy: bias and SD of every memsgd estimator and of the peers on
   the same seeded exact fGn (Cholesky of the Toeplitz covariance), n = 1024.
2. Throughput: 10,000 series x 3,000 steps through the default estimator,
   and nolds one series at a time (extrapolated from a sample).
3. Alpha-stable fit at n = 1000: memsgd's fits vs scipy's levy_stable.fit.
4. Tails: MMO per series vs pooled (the pooling artefact), Hill.
5. Gaussianity battery rates; marginal-verdict error rates; analyze timing.

Peers are optional (``pip install nolds hurst fathon``); a peer that does not
import is skipped and reported as such.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import time
import warnings

import numpy as np
from scipy import linalg, stats

from memsgd import stats as ms


def fgn(n, h, reps, seed):
    k = np.arange(n, dtype=np.float64)
    gamma = 0.5 * (
        np.abs(k + 1) ** (2 * h) - 2 * k ** (2 * h) + np.abs(k - 1) ** (2 * h)
    )
    chol = np.linalg.cholesky(linalg.toeplitz(gamma))
    return chol @ np.random.default_rng(seed).standard_normal((n, reps))


def load_peers():
    peers, missing = {}, []
    for name in ("nolds", "hurst", "fathon"):
        try:
            peers[name] = importlib.import_module(name)
        except Exception as err:  # report any import failure
            missing.append(f"{name} ({type(err).__name__}: {err})")
    return peers, missing


def peer_estimators(peers):
    """name -> function(1-D noise) -> H, one series at a time."""
    out = {}
    if "nolds" in peers:
        nolds = peers["nolds"]
        out["nolds hurst_rs (corrected)"] = lambda x: nolds.hurst_rs(x, fit="poly")
        out["nolds hurst_rs (uncorrected)"] = lambda x: nolds.hurst_rs(
            x, fit="poly", corrected=False
        )
        out["nolds dfa (order 1)"] = lambda x: nolds.dfa(x, fit_trend="poly")
    if "hurst" in peers:
        compute = peers["hurst"].compute_Hc
        out["hurst compute_Hc (change)"] = lambda x: compute(x, kind="change")[0]
    if "fathon" in peers:
        fathon = peers["fathon"]

        def fathon_dfa(x):
            dfa = fathon.DFA(fathon.fathonUtils.toAggregated(x))
            wins = np.unique(np.geomspace(10, len(x) // 4, 16).astype(int))
            dfa.computeFlucVec(wins, revSeg=True, polOrd=1)
            return dfa.fitFlucVec()[0]

        out["fathon DFA (10..N/4)"] = fathon_dfa
    return out


MEMSGD = {
    "memsgd whittle (default)": {"method": "whittle"},
    "memsgd local_whittle": {"method": "local_whittle"},
    "memsgd gph": {"method": "gph"},
    "memsgd rs (ALP corrected)": {"method": "rs"},
    "memsgd rs (uncorrected)": {"method": "rs", "correction": False},
    "memsgd dfa order 1": {"method": "dfa", "order": 1},
    "memsgd dfa order 2": {"method": "dfa", "order": 2},
    "memsgd aggvar": {"method": "aggvar"},
}
HS = (0.1, 0.2, 0.5, 0.8, 0.9)


def accuracy(reps, peers, peer_reps):
    data = {h: fgn(1024, h, reps, seed=1000 + int(100 * h)) for h in HS}
    rows = {}
    for name, kwargs in MEMSGD.items():
        rows[name] = [ms.hurst(data[h], **kwargs).estimate for h in HS]
    for name, fn in peer_estimators(peers).items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rows[name] = [
                np.array([fn(data[h][:, j]) for j in range(peer_reps)]) for h in HS
            ]
    print(f"\n### Hurst accuracy, exact fGn, n = 1024 ({reps} series per H for")
    print(f"memsgd, the first {peer_reps} of them for the peers)\n")
    head = " | ".join(f"H={h}: bias / SD" for h in HS)
    print(f"| estimator | {head} |")
    print("|---|" + "---|" * len(HS))
    for name, ests in rows.items():
        cells = " | ".join(
            f"{e.mean() - h:+.3f} / {e.std():.3f}" for e, h in zip(ests, HS)
        )
        print(f"| {name} | {cells} |")


def throughput(peers, series, steps):
    x = np.random.default_rng(0).standard_normal((steps, series))
    t0 = time.perf_counter()
    ms.hurst(x)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    ms.hurst(x)
    warm = time.perf_counter() - t0
    print(f"\n### Throughput: {series} series x {steps} steps\n")
    print("| estimator | seconds | ratio to memsgd (first call) |")
    print("|---|---|---|")
    print(
        f"| memsgd whittle, first call (builds the density table) | {first:.2f} | 1 |"
    )
    print(f"| memsgd whittle, table cached | {warm:.2f} | {warm / first:.2f} |")
    sample = 30
    for name, fn in peer_estimators(peers).items():
        if "uncorrected" in name:
            continue
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for j in range(sample):
                fn(x[:, j])
        per = (time.perf_counter() - t0) / sample
        total = per * series
        print(
            f"| {name}, one series at a time ({per * 1e3:.1f} ms/series, "
            f"extrapolated) | {total:.1f} | {total / first:.0f} |"
        )


def stable_bench(scipy_n):
    rng = np.random.default_rng(7)
    print("\n### Alpha-stable fit, n = 1000 (mean / SD of alpha-hat over 200 series)\n")
    print("| method | alpha=1.2 | alpha=1.5 | alpha=1.8 | Gaussian | ms per series |")
    print("|---|---|---|---|---|---|")
    data = [
        stats.levy_stable.rvs(a, 0.0, size=(1000, 200), random_state=rng)
        for a in (1.2, 1.5, 1.8)
    ] + [rng.standard_normal((1000, 200))]
    for method in ("koutrouvelis", "mcculloch"):
        cells = []
        for x in data:
            a = ms.fit_stable(x, method=method).alpha
            cells.append(f"{a.mean():.3f} / {a.std():.3f}")
        t0 = time.perf_counter()
        for j in range(20):
            ms.fit_stable(data[1][:, j], method=method)
        per = (time.perf_counter() - t0) / 20
        t0 = time.perf_counter()
        ms.fit_stable(data[1], method=method)
        batch = (time.perf_counter() - t0) / 200
        print(
            f"| memsgd {method} | "
            + " | ".join(cells)
            + f" | {per * 1e3:.1f} alone, {batch * 1e3:.2f} in a batch of 200 |"
        )
    x = data[1][:, 0]
    q = ms.fit_stable(data[3][:, :50], method="mcculloch")
    del q
    small = x[:scipy_n]
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = stats.levy_stable.fit(small)
    dt = time.perf_counter() - t0
    t0 = time.perf_counter()
    ours = ms.fit_stable(small).alpha[0]
    dt_ours = time.perf_counter() - t0
    print(
        f"\nscipy levy_stable.fit on ONE series of n = {scipy_n} (alpha = 1.5): "
        f"{dt:.1f} s, alpha-hat {fit[0]:.3f}; memsgd koutrouvelis on the same "
        f"series: {dt_ours * 1e3:.1f} ms, alpha-hat {ours:.3f}; ratio "
        f"{dt / dt_ours:.0f}x."
    )


def tails_bench():
    rng = np.random.default_rng(11)
    cases = {
        "N(0,1), same scale": rng.standard_normal((1000, 500)),
        "N(0, s^2), s uniform in [0.5, 2]": rng.standard_normal((1000, 500))
        * rng.uniform(0.5, 2, 500),
        "N(0, s^2), s log-uniform in [0.01, 1]": rng.standard_normal((1000, 500))
        * 10 ** rng.uniform(-2, 0, 500),
        "N(0.5, 1) (common mean offset)": rng.standard_normal((1000, 500)) + 0.5,
        "N(m, 1), m ~ N(0, 1) per coordinate": rng.standard_normal((1000, 500))
        + rng.normal(0, 1, 500),
        "stable alpha=1.5": stats.levy_stable.rvs(
            1.5, 0, size=(1000, 500), random_state=rng
        ),
    }
    print("\n### Tail index: per coordinate vs pooled (1000 steps x 500 coordinates)\n")
    print("| data (true alpha) | MMO per coordinate, median | MMO pooled | warns |")
    print("|---|---|---|---|")
    for name, x in cases.items():
        per = np.median(ms.tail_index(x).estimate)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            pooled = ms.tail_index(x, pooled=True)
        print(
            f"| {name} | {per:.2f} | {pooled.estimate[0]:.2f} | "
            f"{'yes' if caught else 'no'} |"
        )
    print("\n### Hill (KS choice of k), 200 series of n = 1000\n")
    print("| data | true index | mean Hill | SD | mean k |")
    print("|---|---|---|---|---|")
    hill_cases = {
        "Pareto(1.5), symmetric": (
            (rng.pareto(1.5, (1000, 200)) + 1) * rng.choice([-1, 1], (1000, 200)),
            1.5,
        ),
        "Student-t(3)": (rng.standard_t(3, (1000, 200)), 3.0),
        "Student-t(5)": (rng.standard_t(5, (1000, 200)), 5.0),
        "stable alpha=1.5": (
            stats.levy_stable.rvs(1.5, 0, size=(1000, 200), random_state=rng),
            1.5,
        ),
    }
    for name, (x, truth) in hill_cases.items():
        res = ms.hill(x)
        print(
            f"| {name} | {truth} | {res.estimate.mean():.2f} | "
            f"{res.estimate.std():.2f} | {res.k.mean():.0f} |"
        )


def gauss_bench():
    rng = np.random.default_rng(13)
    print("\n### Gaussianity battery (p < 0.05 per series, no multiplicity control)\n")
    print("| data | shapiro | dagostino | anderson | jarque_bera | BH any (fdr 0.05) |")
    print("|---|---|---|---|---|---|")
    cases = {
        "Gaussian, n=200, 2000 series": rng.standard_normal((200, 2000)),
        "Gaussian, n=1000, 2000 series": rng.standard_normal((1000, 2000)),
        "Student-t(3), n=1000, 500 series": rng.standard_t(3, (1000, 500)),
        "Student-t(10), n=1000, 500 series": rng.standard_t(10, (1000, 500)),
    }
    for name, x in cases.items():
        res = ms.gaussianity(x)
        cells = " | ".join(f"{res.fraction_rejected_raw(t):.3f}" for t in res.pvalues)
        print(f"| {name} | {cells} | {res.fraction_rejected():.3f} |")

    print("\n### Marginal verdict, 300 series of n = 1000 (fraction of labels)\n")
    print("| data | gaussian | stable | neither |")
    print("|---|---|---|---|")
    cases = {
        "Gaussian": rng.standard_normal((1000, 300)),
        "stable alpha=1.5": stats.levy_stable.rvs(
            1.5, 0, size=(1000, 300), random_state=rng
        ),
        "stable alpha=1.8, beta=0.5": stats.levy_stable.rvs(
            1.8, 0.5, size=(1000, 300), random_state=rng
        ),
        "stable alpha=1.95": stats.levy_stable.rvs(
            1.95, 0, size=(1000, 300), random_state=rng
        ),
        "Student-t(3)": rng.standard_t(3, (1000, 300)),
        "Student-t(10)": rng.standard_t(10, (1000, 300)),
        "Laplace": rng.laplace(size=(1000, 300)),
        "uniform": rng.uniform(-1, 1, (1000, 300)),
    }
    for name, x in cases.items():
        v = ms.marginal_verdict(x, ms.gaussianity(x).rejected_any)
        cells = " | ".join(
            f"{v.counts[k] / 300:.2f}" for k in ("gaussian", "stable", "neither")
        )
        print(f"| {name} | {cells} |")


def analyze_bench():
    x = np.random.default_rng(17).standard_normal((1000, 1000))
    t0 = time.perf_counter()
    ms.analyze(x)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    ms.analyze(x)
    warm = time.perf_counter() - t0
    print(
        f"\nanalyze(T=1000, C=1000): first call {first:.2f} s (includes the "
        f"stable goodness-of-fit null and the Whittle table), then {warm:.2f} s."
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--peer-reps", type=int, default=100)
    parser.add_argument("--scipy-n", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="small sizes")
    args = parser.parse_args()
    peers, missing = load_peers()
    print(
        "peers:",
        ", ".join(f"{n} {importlib.metadata.version(n)}" for n in peers),
    )
    if missing:
        print("skipped peers:", "; ".join(missing))
    reps = 20 if args.quick else args.reps
    accuracy(reps, peers, min(args.peer_reps, reps))
    throughput(peers, 1000 if args.quick else 10000, 3000)
    stable_bench(args.scipy_n)
    tails_bench()
    gauss_bench()
    analyze_bench()


if __name__ == "__main__":
    main()
