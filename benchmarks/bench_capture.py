"""Cost of recording SGN: fit with and without the wrapper, probe, frozen loop.

Prints, side by side in one run, on the embedded Fashion-MNIST subset:

1. ``fit`` steps/s with the plain optimizer and with ``NoiseRecorder``
   recording 10k coordinates (probe every K steps, K large by default, so the
   recording itself is measured; target overhead <= 3%);
2. the probe's cost for one full gradient over N samples against one
   forward+backward pass over the same N samples (a ``fit`` epoch at
   learning rate 0 with the same chunk size: the physical floor; target
   <= 1.15x);
3. the frozen-weights loop: milliseconds per minibatch (everything
   included: tracing, the full gradient, writing) against ``fit``'s
   milliseconds per step.

Plain and wrapped epochs alternate; the overhead is the median of the
paired ratios (wrapped epoch / the plain epoch just before it), with a 95%
bootstrap interval, so that the machine's drifts cancel.

    python benchmarks/bench_capture.py [--archs mlp,lenet] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

from _paired import paired_overhead

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _full_gradient_fn(probe, variables):
    import tensorflow as tf

    return tf.function(lambda: probe.full_gradient(variables)[1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", default="mlp,lenet")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--coords", type=int, default=10_000)
    parser.add_argument("--probe-every", type=int, default=10**9)
    parser.add_argument("--probe-batch-size", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--frozen-batches", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=12_000)
    parser.add_argument("--jit", action="store_true", help="fit with XLA")
    args = parser.parse_args(argv)

    import keras
    import tensorflow as tf

    from memsgd import capture, data, models

    ds = data.load()
    x, y = ds.x_train[: args.samples], ds.y_train[: args.samples]
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    tmp = tempfile.mkdtemp(prefix="memsgd-bench-")
    print(
        f"TF {tf.__version__}, Keras {keras.__version__}, "
        f"{os.cpu_count()} CPUs, N={len(x)}, batch {args.batch_size}, "
        f"{args.coords} coordinates, probe every {args.probe_every}, "
        f"jit_compile={args.jit}"
    )
    rows = []
    for arch in args.archs.split(","):
        steps = len(x) // args.batch_size

        def make(wrapped, arch=arch):
            model = models.build(arch, ds.input_shape, ds.num_classes, seed=0)
            opt = keras.optimizers.SGD(0.01, momentum=0.9)
            callbacks = []
            if wrapped:
                probe = capture.GradientProbe(
                    model,
                    loss,
                    x,
                    y,
                    every=args.probe_every,
                    batch_size=args.probe_batch_size,
                )
                opt = capture.NoiseRecorder(
                    opt,
                    probe=probe,
                    path=os.path.join(tmp, f"{arch}.h5"),
                    num_coords=min(args.coords, model.count_params()),
                )
                callbacks = [probe]
            model.compile(opt, loss, jit_compile=args.jit)
            # Warm up (trace, compile, the probe at step 0).
            model.fit(
                x[: 4 * args.batch_size],
                y[: 4 * args.batch_size],
                batch_size=args.batch_size,
                epochs=1,
                verbose=0,
                callbacks=callbacks,
            )
            return model, callbacks

        runs = {False: make(False), True: make(True)}
        times = {False: [], True: []}
        for _ in range(args.repeats):
            for wrapped in (False, True):
                model, callbacks = runs[wrapped]
                start = time.perf_counter()
                model.fit(
                    x,
                    y,
                    batch_size=args.batch_size,
                    epochs=1,
                    verbose=0,
                    callbacks=callbacks,
                )
                times[wrapped].append(time.perf_counter() - start)
        plain = steps / statistics.median(times[False])
        wrapped = steps / statistics.median(times[True])
        # Each wrapped epoch ran right after a plain one.
        paired, low, high = paired_overhead(times[True], times[False])

        # Probe: one full gradient over N vs a fit epoch at lr 0, same chunks.
        model, _ = runs[True]
        recorder = capture.find_recorder(model.optimizer)
        probe = recorder.probe
        variables = recorder._rec.var_list
        full = _full_gradient_fn(probe, variables)
        full()
        floor_model = models.build(arch, ds.input_shape, ds.num_classes, seed=0)
        floor_model.compile(keras.optimizers.SGD(0.0), loss, jit_compile=args.jit)
        floor_model.fit(
            x[: args.probe_batch_size],
            y[: args.probe_batch_size],
            batch_size=args.probe_batch_size,
            verbose=0,
        )
        probe_t, floor_t = [], []
        for _ in range(args.repeats):
            start = time.perf_counter()
            full().numpy()
            probe_t.append(time.perf_counter() - start)
            start = time.perf_counter()
            floor_model.fit(x, y, batch_size=args.probe_batch_size, verbose=0)
            floor_t.append(time.perf_counter() - start)

        # Frozen loop: seconds per minibatch, tracing and the full pass
        # included (what a caller waits for).
        fmodel = models.build(arch, ds.input_shape, ds.num_classes, seed=0)
        start = time.perf_counter()
        capture.record_frozen(
            fmodel,
            loss,
            x,
            y,
            batch_size=args.batch_size,
            num_batches=args.frozen_batches,
            path=os.path.join(tmp, f"{arch}-frozen.h5"),
            num_coords=min(args.coords, fmodel.count_params()),
        )
        frozen = time.perf_counter() - start
        per_batch = frozen / args.frozen_batches
        rows.append(
            (
                arch,
                plain,
                wrapped,
                100 * (plain / wrapped - 1),
                statistics.median(probe_t),
                statistics.median(floor_t),
                1000 * per_batch,
                1000 / plain,
                frozen,
                (paired, low, high),
            )
        )

    print()
    print(
        "arch    fit steps/s  wrapped  overhead (paired median, 95% CI) | "
        "probe s  floor s  ratio | frozen ms/batch  fit ms/step"
    )
    for r in rows:
        paired, low, high = r[9]
        print(
            f"{r[0]:<7} {r[1]:11.1f} {r[2]:8.1f} {paired:+9.1f}% "
            f"[{low:+5.1f}%, {high:+5.1f}%]{'':13} | "
            f"{r[4]:7.2f} {r[5]:8.2f} {r[4] / r[5]:6.2f} | "
            f"{r[6]:15.1f} {r[7]:12.1f}"
        )


if __name__ == "__main__":
    main()
