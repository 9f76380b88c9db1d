"""Benchmarks of memsgd.sde, side by side with peers, in one process.

1. Fractional Gaussian noise: 1,000 paths x 4,096 steps with
   ``FractionalGaussianNoise.sample`` against the ``fbm`` package
   (``pip install fbm``; benchmark-only dependency), at H = 0.3 and 0.9, and
   H = 0.95 where fbm's circulant row (0 in place of gamma(n)) fails and it
   falls back to Hosking's O(n^2) method. fbm generates one path per call;
   it is timed on ``--fbm-paths`` paths and scaled to 1,000.
2. Euler-Maruyama: 10,000 paths x 10,000 steps (1e8 path-steps) of the
   double-well SDE with each driver, against a plain numpy loop that does
   the same arithmetic (numpy's generator; Chambers-Mallows-Stuck for the
   stable noise, with the tamed drift step both sides use for it; numpy FFT
   circulant embedding for fGn). Both record the exit from the sharp well.

Run: python benchmarks/bench_sde.py [--quick]
"""

from __future__ import annotations

import argparse
import math
import os
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf

from memsgd import sde


def timed(fn, repeat=1):
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


# ------------------------------------------------------------------ fGn


def bench_fgn(num_paths, num_steps, fbm_paths):
    try:
        from fbm import FBM
    except ImportError:
        FBM = None
    rows = []
    for hurst in (0.3, 0.9, 0.95):
        dist = sde.FractionalGaussianNoise(tf.constant(hurst, tf.float32), num_steps)
        dist.sample(2, seed=0)  # warm-up (graph building)
        ours = timed(lambda d=dist: d.sample(num_paths, seed=1).numpy(), repeat=3)
        peer, note = None, "fbm not installed"
        if FBM is not None:
            gen = FBM(n=num_steps, hurst=hurst, length=num_steps, method="daviesharte")
            count = fbm_paths if hurst < 0.95 else max(1, fbm_paths // 50)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                gen.fgn()  # eigenvalues cached after the first call
                per_path = timed(lambda g=gen, c=count: [g.fgn() for _ in range(c)])
            per_path /= count
            peer = per_path * num_paths
            fell_back = any("Hosking" in str(w.message) for w in caught)
            note = f"fbm timed on {count} paths; " + (
                "fell back to Hosking" if fell_back else "Davies-Harte"
            )
        rows.append((f"fGn H={hurst}", ours, peer, note))
    return rows


# ------------------------------------------------------------------ EM


def drift_numpy(x, potential):
    width = np.where(x < 0, potential.sharp_width, potential.flat_width)
    depth = np.where(x < 0, potential.sharp_depth, potential.flat_depth)
    return 4.0 * depth / width**2 * x * (1.0 - (x / width) ** 2)


def numpy_em(name, paths, steps, dt, sigma, potential, seed=0):
    rng = np.random.default_rng(seed)
    x = np.full(paths, potential.start)
    exit_step = np.full(paths, -1)
    if name == "fbm":
        hurst = 0.7
        k = np.concatenate([np.arange(steps + 1), np.arange(steps - 1, 0, -1)])
        gamma = 0.5 * (
            np.abs(k + 1) ** (2 * hurst)
            - 2 * np.abs(k) ** (2 * hurst)
            + np.abs(k - 1) ** (2 * hurst)
        )
        root = np.sqrt(np.maximum(np.fft.fft(gamma).real, 0) / (2 * steps))
        scale = sigma * dt**hurst
        chunk = 250  # paths per FFT block, as memory allows
        noise = np.empty((steps, paths), dtype=np.float32)
        for start in range(0, paths, chunk):
            z = rng.standard_normal((chunk, 2 * steps)) + 1j * rng.standard_normal(
                (chunk, 2 * steps)
            )
            noise[:, start : start + chunk] = np.fft.fft(root * z)[:, :steps].real.T
        for i in range(steps):
            x += drift_numpy(x, potential) * dt + scale * noise[i]
            exit_step[(exit_step < 0) & (x >= 0)] = i + 1
        return x, exit_step
    for i in range(steps):
        if name == "brownian":
            xi = rng.standard_normal(paths)
            scale = sigma * dt**0.5
        else:  # symmetric stable, alpha = 1.5, Chambers-Mallows-Stuck
            alpha = 1.5
            v = np.pi * (rng.random(paths) - 0.5)
            w = rng.standard_exponential(paths)
            xi = (
                np.sin(alpha * v)
                / np.cos(v) ** (1 / alpha)
                * (np.cos((1 - alpha) * v) / w) ** ((1 - alpha) / alpha)
            )
            scale = sigma * dt ** (1 / alpha)
        step = drift_numpy(x, potential) * dt
        if name == "levy":  # tamed, as memsgd uses for stable noise
            step = step / (1.0 + np.abs(step))
        x += step + scale * xi
        exit_step[(exit_step < 0) & (x >= 0)] = i + 1
    return x, exit_step


def bench_em(paths, steps, numpy_too):
    potential = sde.double_well()
    drivers = {
        "brownian": sde.BrownianDriver(),
        "levy": sde.LevyDriver(1.5),
        "fbm": sde.FractionalDriver(0.7),
    }
    rows = []
    for name, driver in drivers.items():

        def run(driver=driver, paths=paths, steps=steps, name=name):
            sde.euler_maruyama(
                potential,
                driver,
                potential.start,
                0.01,
                steps,
                paths,
                sigma=0.5,
                seed=1,
                exit_fn=potential.exited,
                scheme="tamed" if name == "levy" else "euler",
            )

        # Warm-up at the same shapes compiles the loop and the samplers.
        sde.euler_maruyama(
            potential,
            driver,
            potential.start,
            0.01,
            min(steps, 1000),
            paths,
            sigma=0.5,
            seed=0,
            exit_fn=potential.exited,
        )
        ours = timed(run)
        peer = (
            timed(lambda n=name: numpy_em(n, paths, steps, 0.01, 0.5, potential))
            if numpy_too
            else None
        )
        rows.append((f"EM {name} {paths}x{steps}", ours, peer, "numpy loop"))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10x smaller runs")
    parser.add_argument("--fbm-paths", type=int, default=30)
    parser.add_argument("--skip-numpy", action="store_true")
    args = parser.parse_args()
    shrink = 10 if args.quick else 1

    print(f"TensorFlow {tf.__version__}, {os.cpu_count()} CPU cores")
    rows = bench_fgn(1000 // shrink, 4096, args.fbm_paths)
    rows += bench_em(10000 // shrink, 10000, not args.skip_numpy)
    header = f"{'case':<30} {'memsgd s':>10} {'peer s':>10} {'speed-up':>9}  note"
    print(header)
    print("-" * len(header))
    for case, ours, peer, note in rows:
        peer_s = f"{peer:10.2f}" if peer is not None else f"{'-':>10}"
        ratio = f"{peer / ours:8.1f}x" if peer is not None else f"{'-':>9}"
        print(f"{case:<30} {ours:10.3f} {peer_s} {ratio}  {note}")


if __name__ == "__main__":
    main()
