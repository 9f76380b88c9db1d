"""Install layout and the cheap import path."""

import importlib.util
import pathlib
import subprocess
import sys

import memsgd


def test_cli_and_models_live_under_memsgd():
    assert importlib.util.find_spec("memsgd.cli") is not None
    assert importlib.util.find_spec("memsgd.models") is not None
    # Nothing leaked to the top level under the folders' own names.
    assert importlib.util.find_spec("models") is None
    assert importlib.util.find_spec("cli") is None


def test_import_and_help_do_not_import_tensorflow():
    code = (
        "import sys, memsgd, memsgd.data, memsgd.cli;"
        "from click.testing import CliRunner;"
        "r = CliRunner().invoke(memsgd.cli.main, ['--help']);"
        "assert r.exit_code == 0, r.output;"
        "assert 'tensorflow' not in sys.modules, 'TF imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd="/")


def test_python_dash_m_runs_the_cli():
    out = subprocess.run(
        [sys.executable, "-m", "memsgd", "--version"],
        check=True,
        capture_output=True,
        text=True,
        cwd="/",
    )
    assert memsgd.__version__ in out.stdout


def test_a_source_checkout_resolves_cli_and_models(tmp_path):
    """Python started in a checkout imports its source folder, not the install.

    Rebuild that situation without site-packages (``-S``: no install, no
    editable finder): ``memsgd.models`` must come from the top-level
    ``models/`` folder next to the package, as an install maps it.
    """
    import shutil

    shutil.copytree(
        pathlib.Path(memsgd.__file__).parent,
        tmp_path / "memsgd",
        # An installed copy has cli/ and models/ inside; a checkout has not.
        ignore=shutil.ignore_patterns("*.npz", "__pycache__", "cli", "models"),
    )
    for name in ("models", "cli"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text(f"WHERE = {name!r}\n")
    code = (
        "import memsgd.models, memsgd.cli; print(memsgd.models.WHERE, memsgd.cli.WHERE)"
    )
    out = subprocess.run(
        [sys.executable, "-S", "-c", code],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert out.stdout.split() == ["models", "cli"]
