"""`analyze --tensorboard DIR`: SGN statistics as TensorBoard summaries.

Per architecture and protocol: the per-step norm of the SGN and the cosine
between minibatch and full gradient (from the recording), the headline
numbers as scalars, and histograms over coordinates of H-hat, the tail index
and the stable alpha.
"""

from __future__ import annotations

import pathlib

import numpy as np


def write(summary: dict, run_dir: pathlib.Path, log_dir: str) -> None:
    import tensorflow as tf

    from memsgd import recording

    for arch, block in summary["architectures"].items():
        rec = recording.read(run_dir / block["recording"])
        for name, prot in block.get("protocols", {}).items():
            writer = tf.summary.create_file_writer(
                str(pathlib.Path(log_dir) / arch / name.replace("/", "_"))
            )
            group = rec.groups[name]
            with writer.as_default():
                layers = group.layers or {}
                norms = layers.get("sgn_norm")
                cosine = layers.get("cosine")
                for i, step in enumerate(np.asarray(group.step)):
                    if norms is not None and np.all(np.isfinite(norms[i])):
                        total = float(np.sqrt(np.sum(np.square(norms[i]))))
                        tf.summary.scalar("sgn/norm", total, step=int(step))
                    if cosine is not None and np.all(np.isfinite(cosine[i])):
                        tf.summary.scalar(
                            "sgn/mean_cosine_to_full_gradient",
                            float(np.mean(cosine[i])),
                            step=int(step),
                        )
                stats = prot["stats"]
                for key, values in (
                    ("hurst", stats["hurst"]["estimate"]),
                    ("tail_index", stats["tail_index"]["per_coordinate"]["estimate"]),
                    ("stable_alpha", stats["stable"]["alpha"]),
                ):
                    finite = np.asarray([v for v in values if v is not None], float)
                    tf.summary.histogram(f"coordinates/{key}", finite, step=0)
                tf.summary.scalar(
                    "headline/median_hurst", stats["hurst"]["median"], step=0
                )
                tf.summary.scalar(
                    "headline/gaussianity_rejected",
                    stats["gaussianity"]["fraction_rejected_any"],
                    step=0,
                )
            writer.close()
