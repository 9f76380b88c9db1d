"""`memsgd analyze`: train, record SGN, test it, fit drivers, simulate, report.

For each architecture: train with the wrapped optimizer (recording SGN in
training), record SGN at the final weights with the frozen-weights protocol,
analyse every recorded group (statistics and fitted SDE drivers), and simulate
escape with each fitted driver. Then sweep escape time over H, alpha and the
Brownian noise level, write ``summary.json`` and the HTML report.

``summary.json`` is rewritten after each architecture, so a run that fails
or is interrupted keeps the results (and the HDF5 recordings) it has so far.
"""

from __future__ import annotations

import datetime
import importlib.util
import json
import logging
import math
import pathlib
import platform
import sys
import time

import click
import numpy as np

from memsgd import __version__
from memsgd.cli import _pipeline

logger = logging.getLogger(__name__)

# --quick: a smoke run. Batches of 32 give 64 steps per epoch of 2048 examples,
# enough rows for every estimator (the statistics need T >= 64).
QUICK = {
    "num_train": 2048,
    "num_test": 512,
    "epochs": 2,
    "batch_size": 32,
    "probe_every": 1,
    "reference_size": 512,
    "frozen_steps": 200,
    "coords": 128,
    "escape_paths": 200,
    "escape_steps": 1000,
}
ESCAPE = {"sigma": 0.5, "dt": 0.01}


class _Timer:
    """Wall-clock seconds per stage, for the summary and the closing line."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    def __call__(self, name: str):
        timer = self

        class _Stage:
            def __enter__(self):
                self.start = time.perf_counter()

            def __exit__(self, *exc):
                elapsed = time.perf_counter() - self.start
                timer.seconds[name] = timer.seconds.get(name, 0.0) + elapsed

        return _Stage()


def _prepare_out(out_dir: str) -> pathlib.Path:
    out = pathlib.Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise PermissionError(
            f"cannot write to output folder {out}: {exc.strerror or exc}"
        ) from None
    return out


def _check_options(o: dict) -> None:
    for name in ("epochs", "batch_size", "coords", "probe_every", "frozen_steps"):
        if o[name] < 1:
            flag = "--" + name.replace("_", "-")
            raise ValueError(f"{flag} must be >= 1. Received: {flag} {o[name]}")
    if not o["lr"] > 0 or not math.isfinite(o["lr"]):
        raise ValueError(f"--lr must be a positive number. Received: --lr {o['lr']}")
    if o["protocol"] != "in_training" and o["frozen_steps"] < _pipeline.MIN_STEPS:
        raise ValueError(
            f"--frozen-steps must be >= {_pipeline.MIN_STEPS} (the statistics "
            "need that many minibatches). "
            f"Received: --frozen-steps {o['frozen_steps']}"
        )
    if o["data_path"] and o["dataset"] in ("fashion_mnist_subset", "synthetic"):
        raise ValueError(
            f"--data-path is for datasets on disk; --dataset {o['dataset']} "
            "needs no files (use --dataset fashion_mnist, mnist, cifar10 or "
            f"cifar100 with it). Received: --data-path {o['data_path']}"
        )
    if o["reference_size"] < 0:
        raise ValueError(
            "--reference-size must be >= 0 (0: the whole training set). "
            f"Received: --reference-size {o['reference_size']}"
        )


def _versions() -> dict:
    import h5py
    import keras
    import scipy
    import tensorflow as tf
    import tensorflow_probability as tfp

    return {
        "memsgd": __version__,
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "tensorflow_probability": tfp.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "h5py": h5py.__version__,
        "platform": platform.platform(),
    }


def _inner_optimizer(name: str, lr: float, momentum: float):
    import keras

    if name == "sgd":
        return keras.optimizers.SGD(lr, momentum=momentum)
    if name == "adam":
        return keras.optimizers.Adam(lr)
    return keras.optimizers.RMSprop(lr)


def _train_and_record(name, ds, o, path, metadata, timer) -> dict:
    """Trains one architecture with the recorder; records frozen SGN after."""
    import keras

    from memsgd import capture, models

    keras.utils.set_random_seed(o["seed"])
    model = models.build(name, ds.input_shape, ds.num_classes, seed=o["seed"])
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    in_training = o["protocol"] in ("both", "in_training")
    callbacks = [keras.callbacks.TerminateOnNaN()]
    inner = _inner_optimizer(o["optimizer"], o["lr"], o["momentum"])
    if in_training:
        probe = capture.GradientProbe(
            model,
            loss,
            ds.x_train,
            ds.y_train,
            every=o["probe_every"],
            batch_size=1024,
            reference_size=min(o["reference_size"], len(ds.x_train)) or None,
            reference_sampling=o["reference_sampling"],
            seed=o["seed"],
        )
        optimizer = capture.NoiseRecorder(
            inner,
            probe=probe,
            path=path,
            num_coords=o["coords"],
            seed=o["seed"],
            metadata=metadata,
        )
        callbacks.insert(0, probe)
    else:
        optimizer = inner
    if o["tensorboard"]:
        log_dir = pathlib.Path(o["tensorboard"]) / name
        callbacks.append(keras.callbacks.TensorBoard(str(log_dir)))
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])

    with timer(f"{name}: train"):
        history = model.fit(
            ds.x_train,
            ds.y_train,
            batch_size=o["batch_size"],
            epochs=o["epochs"],
            shuffle=True,
            # Keras' own progress bar on a terminal, one line per epoch in logs.
            verbose=0 if o["quiet"] else (1 if sys.stdout.isatty() else 2),
            callbacks=callbacks,
        )
    losses = history.history.get("loss", [])
    if (
        not losses
        or not all(math.isfinite(v) for v in losses)
        or getattr(model, "stop_training", False)
    ):
        raise RuntimeError(
            f"{name} diverged (non-finite loss during training, lr={o['lr']}); "
            f"the steps recorded before are in {path}"
        )
    train_loss, train_acc = model.evaluate(
        ds.x_train, ds.y_train, verbose=0, batch_size=1024
    )
    test_loss, test_acc = model.evaluate(
        ds.x_test, ds.y_test, verbose=0, batch_size=1024
    )
    if o["protocol"] in ("both", "frozen"):
        with timer(f"{name}: frozen"):
            capture.record_frozen(
                model,
                loss,
                ds.x_train,
                ds.y_train,
                batch_size=o["batch_size"],
                num_batches=o["frozen_steps"],
                sampler=o["sampler"],
                path=path,
                group="frozen",
                num_coords=o["coords"],
                seed=o["seed"],
                metadata=metadata,
            )
    return {
        "train_accuracy": float(train_acc),
        "test_accuracy": float(test_acc),
        "train_loss": float(train_loss),
        "test_loss": float(test_loss),
        "generalization_gap": float(train_acc - test_acc),
        "num_params": int(model.count_params()),
        "history": {k: [float(v) for v in vals] for k, vals in history.history.items()},
    }


def _fitted_escape(protocols: dict, o: dict) -> dict:
    """Escape from the sharp minimum with each driver fitted to this SGN."""
    # The frozen protocol's fit if it was analysed, else the first that was.
    order = sorted(protocols, key=lambda name: name != "frozen")
    fits = [protocols[n]["drivers"] for n in order if protocols[n].get("drivers")]
    if not fits:
        return {}
    fitted = fits[0]["drivers"]
    common = dict(
        sigma=ESCAPE["sigma"],
        potential="double_well",
        dt=ESCAPE["dt"],
        num_steps=o["escape_steps"],
        num_paths=o["escape_paths"],
        seed=o["seed"],
    )
    hurst = float(np.clip(fitted["fbm"]["params"]["hurst"], 0.02, 0.98))
    alpha = float(np.clip(fitted["levy"]["params"]["alpha"], 0.5, 2.0))
    return {
        "fbm": _pipeline.escape("fbm", "hurst", (hurst,), **common).to_dict(),
        "levy": _pipeline.escape("levy", "alpha", (alpha,), **common).to_dict(),
        "brownian": _pipeline.escape(
            "brownian", "sigma", (ESCAPE["sigma"],), **common
        ).to_dict(),
    }


def _write_summary(out: pathlib.Path, summary: dict) -> None:
    tmp = out / "summary.json.tmp"
    tmp.write_text(json.dumps(summary, indent=1, allow_nan=True))
    tmp.replace(out / "summary.json")


def run(**o) -> None:
    started = time.perf_counter()
    _check_options(o)
    if o["tensorboard"] and importlib.util.find_spec("tensorboard") is None:
        raise RuntimeError(
            "--tensorboard needs the tensorboard package: "
            "pip install 'memsgd[tensorboard]' (or pip install tensorboard)"
        )
    out = _prepare_out(o["out_dir"])
    if o["quick"]:
        # Smoke-run sizes, except for the flags given on the command line.
        explicit = o.get("explicit") or ()
        o.update({k: v for k, v in QUICK.items() if k not in explicit})
    o.setdefault("escape_paths", 500)
    o.setdefault("escape_steps", 2000)

    from memsgd import data

    ds = data.load(o["dataset"], o["data_path"], seed=o["seed"])
    if o["quick"]:
        ds = ds.subset(o["num_train"], o["num_test"])

    import tensorflow as tf

    # Same seed, same numbers: deterministic kernels (slower on some ops).
    tf.config.experimental.enable_op_determinism()
    timer = _Timer()
    summary = {
        "memsgd_version": __version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "status": "running",
        "settings": {k: v for k, v in o.items() if k not in ("quiet", "explicit")},
        "versions": _versions(),
        "dataset": ds.to_dict(),
        "architectures": {},
        "escape": {},
        "findings": [],
    }
    try:
        _run_archs(o, ds, out, summary, timer)
    except BaseException as exc:
        summary["status"] = f"failed: {type(exc).__name__}: {exc}"
        _write_summary(out, summary)
        raise

    click.echo("== escape-time sweeps over H, alpha and sigma ==")
    with timer("escape sweeps"):
        summary["escape"] = _pipeline.escape_sweeps(
            ESCAPE["sigma"],
            o["escape_paths"],
            o["escape_steps"],
            ESCAPE["dt"],
            o["seed"],
        )
    summary["findings"] = _pipeline.findings(summary)
    summary["status"] = "complete"
    summary["seconds"] = timer.seconds
    summary["seconds"]["total"] = time.perf_counter() - started
    _write_summary(out, summary)
    if o["tensorboard"]:
        from memsgd.cli import _tensorboard

        _tensorboard.write(summary, out, o["tensorboard"])

    from memsgd import report

    with timer("report"):
        html = report.write_report(summary, out)
    summary["seconds"]["total"] = time.perf_counter() - started
    _write_summary(out, summary)
    _print_table(summary)
    for line in summary["findings"]:
        click.echo("- " + line)
    click.echo(f"wrote {html} ({summary['seconds']['total']:.0f} s)")


def _run_archs(o, ds, out, summary, timer) -> None:
    """Trains, records and analyses each architecture in turn."""
    for name in o["archs"]:
        click.echo(
            f"== {name}: training on {ds.name} ({ds.x_train.shape[0]} examples) =="
        )
        path = out / f"{name}.h5"
        if path.exists():
            path.unlink()
        metadata = {
            "model": name,
            "dataset": ds.to_dict(),
            "seed": o["seed"],
            "optimizer": o["optimizer"],
            "lr": o["lr"],
            "momentum": o["momentum"],
            "batch_size": o["batch_size"],
        }
        block = {"recording": path.name}
        summary["architectures"][name] = block
        _write_summary(out, summary)
        block["training"] = _train_and_record(name, ds, o, path, metadata, timer)
        click.echo(
            f"   test accuracy {block['training']['test_accuracy']:.3f}; "
            "analysing the recorded SGN"
        )
        with timer(f"{name}: stats"):
            block["protocols"] = _pipeline.analyse_recording(path, seed=o["seed"])
        with timer(f"{name}: escape"):
            block["escape"] = _fitted_escape(block["protocols"], o)
        _write_summary(out, summary)


def _print_table(summary: dict) -> None:
    from memsgd import report

    rows = report.summary_table(summary)
    if rows:
        click.echo(report.format_table(rows))
