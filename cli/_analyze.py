"""`memsgd analyze`: train each architecture and write the output folder."""

from __future__ import annotations

import json
import os
import pathlib
import platform
import time

import click


def _prepare_out(out_dir: str) -> pathlib.Path:
    out = pathlib.Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise PermissionError(f"cannot write to output folder {out}: {exc.strerror}")
    return out


def run(
    archs,
    dataset,
    data_path,
    optimizer,
    lr,
    momentum,
    batch_size,
    epochs,
    protocol,
    coords,
    probe_every,
    frozen_steps,
    reference_size,
    seed,
    out_dir,
    quick,
    tensorboard,
    quiet,
) -> None:
    if epochs < 1:
        raise ValueError(f"--epochs must be >= 1. Received: --epochs {epochs}")
    if batch_size < 1:
        raise ValueError(
            f"--batch-size must be >= 1. Received: --batch-size {batch_size}"
        )
    out = _prepare_out(out_dir)

    from memsgd import data as mdata

    ds = mdata.load(dataset, data_path, seed=seed)
    if quick:
        ds = ds.subset(2048, 512)

    import keras

    from memsgd import models

    keras.utils.set_random_seed(seed)
    results = {}
    for name in archs:
        click.echo(f"== {name} on {ds.name} ==")
        model = models.build(name, ds.input_shape, ds.num_classes, seed=seed)
        model.compile(
            optimizer=keras.optimizers.SGD(lr, momentum=momentum),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
        start = time.perf_counter()
        history = model.fit(
            ds.x_train,
            ds.y_train,
            batch_size=batch_size,
            epochs=epochs,
            verbose=0 if quiet else 2,
        )
        _, test_acc = model.evaluate(ds.x_test, ds.y_test, verbose=0)
        results[name] = {
            "train_accuracy": float(history.history["accuracy"][-1]),
            "test_accuracy": float(test_acc),
            "seconds": time.perf_counter() - start,
        }
    summary = {
        "settings": {
            "archs": archs,
            "dataset": ds.to_dict(),
            "lr": lr,
            "batch_size": batch_size,
            "epochs": epochs,
            "seed": seed,
        },
        "versions": {"python": platform.python_version(), "keras": keras.__version__},
        "architectures": results,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    click.echo(f"wrote {os.fspath(out / 'summary.json')}")
