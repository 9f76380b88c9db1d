"""Click group and the commands' flags; the work is in ``memsgd.cli._*``."""

from __future__ import annotations

import logging
import os
import sys

import click

from memsgd import __version__

DEFAULT_ARCHS = "mlp,lenet,vgg"
ARCH_NAMES = ("mlp", "lenet", "vgg", "resnet20", "alexnet")
DATASETS = (
    "fashion_mnist_subset",
    "fashion_mnist",
    "mnist",
    "cifar10",
    "cifar100",
    "synthetic",
)


class UsageFailure(click.ClickException):
    """A failure the user can fix; printed as one line, exit code 2."""

    exit_code = 2


def _split_archs(ctx, param, value: str) -> list[str]:
    names = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [n for n in names if n not in ARCH_NAMES]
    if not names or unknown:
        raise click.BadParameter(
            f"unknown architecture {', '.join(unknown) or value!r}; "
            f"choose from {', '.join(ARCH_NAMES)}"
        )
    return names


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="memsgd")
@click.option("-v", "--verbose", count=True, help="More log output (-vv: debug).")
def main(verbose: int) -> None:
    """Record and analyse stochastic gradient noise (SGN) and its memory.

    Tests the claims of Tan, Zhang & Liu (arXiv:2105.02062): SGN is neither
    Gaussian nor Levy-stable, it has short-range memory (H < 1/2), and an
    fBM-driven SDE models SGD better than Brownian or Levy motion.
    """
    # TensorFlow's C++ start-up chatter (no GPU found, CPU features) says
    # nothing about the run; -v lets it through.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3" if verbose == 0 else "0")
    level = (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


@main.command()
@click.option(
    "--archs",
    default=DEFAULT_ARCHS,
    show_default=True,
    callback=_split_archs,
    help=f"Comma-separated architectures from: {', '.join(ARCH_NAMES)}.",
)
@click.option(
    "--dataset",
    type=click.Choice(DATASETS),
    default=DATASETS[0],
    show_default=True,
    help="Embedded default, or a dataset on disk.",
)
@click.option(
    "--data-path",
    type=click.Path(),
    default=None,
    help="Folder with the dataset's files (IDX, CIFAR, Keras cache).",
)
@click.option(
    "--optimizer",
    type=click.Choice(("sgd", "adam", "rmsprop")),
    default="sgd",
    show_default=True,
    help="Inner optimizer (SGD uses --momentum).",
)
@click.option(
    "--lr", type=float, default=0.05, show_default=True, help="Learning rate."
)
@click.option(
    "--momentum", type=float, default=0.9, show_default=True, help="SGD momentum."
)
@click.option("--batch-size", type=int, default=128, show_default=True)
@click.option("--epochs", type=int, default=2, show_default=True)
@click.option(
    "--protocol",
    type=click.Choice(("both", "in_training", "frozen")),
    default="both",
    show_default=True,
    help="SGN protocol: during training, frozen weights, or both.",
)
@click.option(
    "--coords",
    type=int,
    default=1000,
    show_default=True,
    help="Parameter coordinates recorded per architecture.",
)
@click.option(
    "--probe-every",
    type=int,
    default=1,
    show_default=True,
    help="Steps between full-gradient probes in training. Only probed steps "
    "enter the statistics, which need at least 64 of them; each probe is a "
    "pass over the reference set (--reference-size).",
)
@click.option(
    "--sampler",
    type=click.Choice(("without_replacement", "with_replacement")),
    default="without_replacement",
    show_default=True,
    help="Minibatch sampler of the frozen protocol: shuffled epochs (the paper "
    "authors' loader; SGN sums to zero over each epoch) or independent draws.",
)
@click.option(
    "--frozen-steps",
    type=int,
    default=1000,
    show_default=True,
    help="Minibatches drawn at the frozen checkpoint.",
)
@click.option(
    "--reference-size",
    type=int,
    default=2048,
    show_default=True,
    help="Examples in the in-training probe's reference subset (0: the whole "
    "training set, exact). The frozen protocol always uses the whole set.",
)
@click.option(
    "--reference-sampling",
    type=click.Choice(("resampled", "fixed")),
    default="resampled",
    show_default=True,
    help="A fresh reference subset at every probe (its error is white noise: "
    "unbiased, no added memory) or one fixed subset (biases H-hat upward).",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(),
    default="memsgd-out",
    show_default=True,
    help="Output folder.",
)
@click.option(
    "--quick",
    is_flag=True,
    help="Smoke run to check the pipeline (2048 examples, batch 32, 2 epochs, "
    "128 coordinates, 200 frozen minibatches, reference 512); flags given "
    "on the command line keep their values. Its numbers are not estimates.",
)
@click.option(
    "--tensorboard",
    type=click.Path(),
    default=None,
    help="Also write SGN statistics as TensorBoard summaries here.",
)
@click.option("--quiet", is_flag=True, help="No progress bars.")
def analyze(**options) -> None:
    """Train, record SGN, test it, fit SDE drivers, and write a report."""
    from memsgd.cli import _analyze

    # --quick sets small sizes for the flags the user did not give.
    ctx = click.get_current_context()
    options["explicit"] = {
        name
        for name in options
        if ctx.get_parameter_source(name) is click.core.ParameterSource.COMMANDLINE
    }

    _run(_analyze.run, options)


@main.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path())
@click.option(
    "--out",
    "out_dir",
    type=click.Path(),
    default="memsgd-compare",
    show_default=True,
    help="Where the comparison is written.",
)
def compare(run_dirs, out_dir) -> None:
    """Put several `memsgd analyze` runs side by side."""
    from memsgd.cli import _compare

    _run(_compare.run, {"run_dirs": run_dirs, "out_dir": out_dir})


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option(
    "--out",
    "out_json",
    type=click.Path(),
    default=None,
    help="Write every number (per coordinate) as JSON to this file; "
    "'-' prints the JSON alone to stdout. Default: a summary line per group.",
)
@click.option("--seed", type=int, default=0, show_default=True)
def stats(files, out_json, seed) -> None:
    """Run only the statistics on recorded HDF5 files."""
    from memsgd.cli import _stats

    _run(_stats.run, {"files": files, "out_json": out_json, "seed": seed})


@main.command()
@click.option(
    "--driver",
    type=click.Choice(("brownian", "levy", "fbm")),
    default="fbm",
    show_default=True,
)
@click.option(
    "--hurst", type=float, multiple=True, help="Hurst index (fbm); repeat for a sweep."
)
@click.option(
    "--alpha",
    type=float,
    multiple=True,
    help="Stability index (levy); repeat for a sweep.",
)
@click.option(
    "--sigma",
    type=float,
    default=0.5,
    show_default=True,
    help="Noise level. The Levy driver's scale is sigma/sqrt(2), so that "
    "alpha = 2 is the Brownian motion of the same sigma.",
)
@click.option(
    "--potential",
    type=click.Choice(("double_well", "quadratic")),
    default="double_well",
    show_default=True,
    help="Escape from the sharp well of an asymmetric double well (barrier "
    "0.25), or from a quadratic well of radius 1.",
)
@click.option(
    "--paths", type=int, default=1000, show_default=True, help="Simulated paths."
)
@click.option(
    "--steps",
    type=int,
    default=5000,
    show_default=True,
    help="Euler-Maruyama steps; the horizon is steps x dt.",
)
@click.option("--dt", type=float, default=0.01, show_default=True, help="Step size.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--out", "out_dir", type=click.Path(), default="memsgd-simulate", show_default=True
)
def simulate(**options) -> None:
    """Escape-time experiment for an SDE driven by Brownian, Levy or fBM noise."""
    from memsgd.cli import _simulate

    _run(_simulate.run, options)


def _run(func, options) -> None:
    """Runs a command; turns known failures into one line and an exit code."""
    try:
        func(**options)
    except click.ClickException:
        raise
    except KeyboardInterrupt:
        click.echo("interrupted; what was recorded so far is on disk", err=True)
        sys.exit(130)
    except (ValueError, FileNotFoundError, PermissionError, RuntimeError) as exc:
        raise UsageFailure(str(exc).splitlines()[0] if str(exc) else repr(exc)) from exc
