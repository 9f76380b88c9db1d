"""What the recorder adds to one training step: graph ops and microseconds.

A deterministic companion to ``bench_capture.py``. For each architecture it
builds a model and a :class:`NoiseRecorder` as that benchmark does (10k
coordinates, probe every 10⁹ steps), runs one short ``fit`` so that the
recorder is built and attached, then traces a ``tf.function`` that calls the
recorder's ``_record`` on fixed gradients and counts the operations of its
graph, minus those of the same function without ``_record``. The probe's
``tf.cond`` branches are counted apart: the full-gradient branch runs once
per probe, the other one at every other step. It also times both functions
in alternating blocks of calls (the median difference), which isolates the
per-step cost without ``fit`` around it; that time moves with the load of the
machine, the op count does not.

With ``--pairs N`` it then times the compiled ``fit`` step itself, plain and
wrapped, in N alternating blocks of 20 steps (the order flips every pair),
and reports the median ratio with a 95% bootstrap interval. Pairs of blocks
a few tens of milliseconds long cancel the machine's drift better than the
epoch pairs of ``bench_capture.py``. The flush is timed apart (one per
block, after the wrapped block), so the two parts of the cost can be told
apart: in ``fit`` a flush of R rows is paid once per ``flush_every`` steps
or per epoch.

    python benchmarks/bench_record_ops.py [--archs mlp,lenet] [--by-type]
        [--pairs 150]
"""

from __future__ import annotations

import argparse
import collections
import os
import statistics
import tempfile
import time

from _paired import paired_overhead

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _ops(concrete):
    """(ops of the graph, (branch, ops) for each tf.cond's branch functions)."""
    graph = concrete.graph
    ops = graph.get_operations()
    branches = []
    for op in ops:
        if op.type in ("If", "StatelessIf"):
            for attr in ("then_branch", "else_branch"):
                fn = graph._get_function(op.get_attr(attr).name)
                branches.append((attr, len(fn.graph.get_operations())))
    return ops, branches


def _measure(arch, args, tmp):
    import keras
    import numpy as np
    import tensorflow as tf

    from memsgd import capture, data, models

    ds = data.load()
    x, y = ds.x_train[:512], ds.y_train[:512]
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model = models.build(arch, ds.input_shape, ds.num_classes, seed=0)
    probe = capture.GradientProbe(model, loss, x, y, every=10**9)
    rec = capture.NoiseRecorder(
        keras.optimizers.SGD(0.01, momentum=0.9),
        probe=probe,
        path=os.path.join(tmp, f"{arch}.h5"),
        num_coords=min(args.coords, model.count_params()),
    )
    model.compile(rec, loss)
    model.fit(x, y, batch_size=128, epochs=1, verbose=0, callbacks=[probe])
    variables = list(model.trainable_variables)
    rng = np.random.default_rng(0)
    grads = [
        tf.constant(rng.standard_normal(tuple(v.shape)).astype("float32"))
        for v in variables
    ]
    value = tf.constant(0.5)

    @tf.function
    def plain():
        return tf.add_n([tf.reduce_sum(g) for g in grads]) + value

    @tf.function
    def recorded():
        rec._local.loss = value
        deps = rec._record(grads, variables)
        with tf.control_dependencies(deps):
            return tf.add_n([tf.reduce_sum(g) for g in grads]) + value

    base, _ = _ops(plain.get_concrete_function())
    ops, branches = _ops(recorded.get_concrete_function())
    counts = collections.Counter(op.type for op in ops)
    counts.subtract(collections.Counter(op.type for op in base))
    times: dict = {"plain": [], "recorded": []}
    plain(), recorded()
    for _ in range(args.blocks):
        for name, fn in (("plain", plain), ("recorded", recorded)):
            start = time.perf_counter()
            for _ in range(args.calls):
                fn()
            times[name].append((time.perf_counter() - start) / args.calls)
    extra = [r - p for r, p in zip(times["recorded"], times["plain"])]
    print(
        f"{arch}: {len(variables)} variables, {len(rec._rec.coords)} "
        f"coordinates; _record adds {len(ops) - len(base)} ops "
        f"(tf.cond branches: {dict(branches)}); "
        f"{1e6 * statistics.median(extra):.0f} us per call "
        f"(plain {1e6 * statistics.median(times['plain']):.0f} us)"
    )
    if args.by_type:
        for kind, n in counts.most_common():
            if n:
                print(f"    {kind:<28} {n}")


def _paired_steps(arch, args, tmp, block=20):
    """Compiled train step, plain vs wrapped, in alternating blocks."""
    import keras
    import numpy as np
    import tensorflow as tf

    from memsgd import capture, data, models

    ds = data.load()
    x, y = ds.x_train[:12_032], ds.y_train[:12_032]
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    runs = {}
    for wrapped in (False, True):
        model = models.build(arch, ds.input_shape, ds.num_classes, seed=0)
        opt = keras.optimizers.SGD(0.01, momentum=0.9)
        callbacks, rec = [], None
        if wrapped:
            probe = capture.GradientProbe(
                model, loss, x, y, every=10**9, batch_size=1024
            )
            opt = rec = capture.NoiseRecorder(
                opt,
                probe=probe,
                path=os.path.join(tmp, f"{arch}-steps.h5"),
                num_coords=min(args.coords, model.count_params()),
                flush_every=block,
            )
            callbacks = [probe]
        model.compile(opt, loss)
        model.fit(x[:512], y[:512], batch_size=128, verbose=0, callbacks=callbacks)
        data_iter = iter(
            tf.data.Dataset.from_tensor_slices((x, y))
            .batch(128, drop_remainder=True)
            .repeat()
            .prefetch(4)
        )
        runs[wrapped] = (model.make_train_function(), data_iter, rec)

    def run_block(wrapped):
        step, data_iter, _ = runs[wrapped]
        start = time.perf_counter()
        for _ in range(block):
            logs = step(data_iter)
        float(logs["loss"])  # wait for the last step
        return time.perf_counter() - start

    for wrapped in (False, True):
        run_block(wrapped)
    ratios, plain, flush = [], [], []
    for k in range(args.pairs):
        t = {}
        for wrapped in (False, True) if k % 2 else (True, False):
            t[wrapped] = run_block(wrapped)
            rec = runs[wrapped][2]
            if rec is not None:
                start = time.perf_counter()
                rec.flush()
                flush.append(time.perf_counter() - start)
        ratios.append(t[True] / t[False])
        plain.append(t[False] / block)
    median, low, high = paired_overhead(ratios, np.ones(len(ratios)))
    print(
        f"{arch}: compiled step {1e3 * statistics.median(plain):.2f} ms, "
        f"recording {median:+.1f}% [{low:+.1f}%, {high:+.1f}%] "
        f"({args.pairs} pairs of {block} steps); flush of {block} rows "
        f"{1e3 * statistics.median(flush):.1f} ms"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", default="mlp,lenet")
    parser.add_argument("--coords", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--blocks", type=int, default=15)
    parser.add_argument("--by-type", action="store_true", help="ops by type")
    parser.add_argument("--pairs", type=int, default=0, help="time fit's step")
    args = parser.parse_args(argv)
    tmp = tempfile.mkdtemp(prefix="memsgd-ops-")
    for arch in args.archs.split(","):
        _measure(arch, args, tmp)
    for arch in args.archs.split(",") if args.pairs else ():
        _paired_steps(arch, args, tmp)


if __name__ == "__main__":
    main()
