"""The command line: bad input gives one line and an exit code; the quick
end-to-end run writes the documented folder, and its numbers are recomputed
exactly from its HDF5 files by `memsgd stats`."""

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from memsgd.cli import main


def _one_line_error(result, *needles):
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert "Traceback" not in result.output
    text = " ".join(lines)
    for needle in needles:
        assert needle in text, result.output


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--archs", "mlp,transformer"], ["transformer"]),
        (["--dataset", "imagenet"], ["imagenet"]),
        (["--epochs", "0"], ["--epochs must be >= 1", "0"]),
        (["--lr", "-1"], ["--lr must be a positive number"]),
        (["--coords", "0"], ["--coords must be >= 1"]),
        (["--frozen-steps", "20"], ["--frozen-steps must be >= 64", "20"]),
        (["--data-path", "/nonexistent"], ["--data-path is for datasets on disk"]),
    ],
)
def test_analyze_rejects_bad_flags(args, needles, tmp_path):
    result = CliRunner().invoke(main, ["analyze", "--out", str(tmp_path), *args])
    _one_line_error(result, *needles)


def test_analyze_missing_data_path(tmp_path):
    missing = tmp_path / "no-such-dir"
    result = CliRunner().invoke(
        main,
        [
            "analyze",
            "--dataset",
            "mnist",
            "--data-path",
            str(missing),
            "--out",
            str(tmp_path / "out"),
        ],
    )
    _one_line_error(result, "no-such-dir")
    assert len([ln for ln in result.output.splitlines() if ln.strip()]) == 1


def test_analyze_unwritable_output(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = CliRunner().invoke(main, ["analyze", "--out", str(blocker / "sub")])
    _one_line_error(result, "cannot write to output folder")


def test_stats_missing_file(tmp_path):
    result = CliRunner().invoke(main, ["stats", str(tmp_path / "none.h5")])
    _one_line_error(result, "recording not found")


def test_stats_rejects_a_file_that_is_not_hdf5(tmp_path):
    text = tmp_path / "notes.json"
    text.write_text("{}")
    result = CliRunner().invoke(main, ["stats", str(text)])
    _one_line_error(result, "not an HDF5 recording", "notes.json")


def test_simulate_rejects_a_parameter_of_another_driver(tmp_path):
    result = CliRunner().invoke(
        main, ["simulate", "--driver", "brownian", "--hurst", "0.3"]
    )
    _one_line_error(result, "--hurst applies to --driver fbm")


def test_compare_needs_runs(tmp_path):
    result = CliRunner().invoke(main, ["compare", str(tmp_path)])
    _one_line_error(result, "no summary.json")


def _memsgd(*args, cwd):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    return subprocess.run(
        [sys.executable, "-m", "memsgd", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_diverging_model_fails_cleanly_and_keeps_the_recording(tmp_path):
    out = tmp_path / "run"
    proc = _memsgd(
        "analyze",
        "--quick",
        "--archs",
        "mlp",
        "--lr",
        "1e9",
        "--protocol",
        "in_training",
        "--out",
        str(out),
        "--quiet",
        cwd=tmp_path,
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "diverged" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert (out / "mlp.h5").is_file()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"].startswith("failed")
    # The few steps recorded before the divergence are reported, not a crash.
    result = CliRunner().invoke(main, ["stats", str(out / "mlp.h5")])
    assert result.exit_code == 0, result.output
    assert "in_training: not analysed: only" in result.output


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("quick")
    out = cwd / "run"
    proc = _memsgd(
        "analyze",
        "--quick",
        "--archs",
        "mlp",
        "--coords",
        "100",
        "--out",
        str(out),
        "--tensorboard",
        str(cwd / "tb"),
        "--quiet",
        cwd=cwd,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out, proc


def test_quick_keeps_the_flags_given_and_says_it_is_a_smoke_run(quick_run):
    out, _ = quick_run
    summary = json.loads((out / "summary.json").read_text())
    settings = summary["settings"]
    assert settings["coords"] == 100  # given on the command line
    assert settings["frozen_steps"] == 200  # the quick default
    assert "smoke run" in summary["findings"][0]


def test_quick_run_writes_tensorboard_summaries(quick_run):
    out, _ = quick_run
    events = list((out.parent / "tb").rglob("events.out.tfevents.*"))
    # Keras' own TensorBoard callback plus memsgd's SGN summaries per group.
    assert any("frozen" in str(e) for e in events), events


def test_quick_run_writes_the_documented_folder(quick_run):
    out, _proc = quick_run
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "complete"
    assert set(summary["architectures"]) == {"mlp"}
    for _arch, block in summary["architectures"].items():
        assert (out / block["recording"]).is_file()
        t = block["training"]
        assert 0 <= t["test_accuracy"] <= 1
        assert t["generalization_gap"] == pytest.approx(
            t["train_accuracy"] - t["test_accuracy"]
        )
        assert set(block["protocols"]) == {"in_training", "frozen"}
        for prot in block["protocols"].values():
            stats = prot["stats"]
            c = stats["num_series"]
            assert len(stats["hurst"]["estimate"]) == c
            assert 0 <= stats["hurst"]["fraction_below_half"] <= 1
            assert set(prot["drivers"]["drivers"]) == {"brownian", "levy", "fbm"}
            assert prot["drivers"]["best"] in prot["drivers"]["ranking"]
        assert set(block["escape"]) == {"fbm", "levy", "brownian"}
    assert set(summary["escape"]) == {"hurst", "alpha", "brownian_sigma"}
    assert summary["findings"]
    html = (out / "report.html").read_text()
    assert "<img" in html and "http://" not in html.replace("http://www.w3.org", "")
    assert any((out / "figures").glob("*.png"))


def test_stats_recomputes_the_summary_from_the_recordings(quick_run, tmp_path):
    out, _ = quick_run
    summary = json.loads((out / "summary.json").read_text())
    target = tmp_path / "stats.json"
    proc = _memsgd(
        "stats",
        str(out / "mlp.h5"),
        "--out",
        str(target),
        "--seed",
        str(summary["settings"]["seed"]),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    recomputed = json.loads(target.read_text())[str(out / "mlp.h5")]
    assert recomputed == summary["architectures"]["mlp"]["protocols"]


def test_simulate_writes_table_and_figure(tmp_path):
    proc = _memsgd(
        "simulate",
        "--driver",
        "fbm",
        "--hurst",
        "0.3",
        "--hurst",
        "0.7",
        "--paths",
        "200",
        "--steps",
        "600",
        "--out",
        str(tmp_path / "s"),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    sweep = json.loads((tmp_path / "s" / "escape.json").read_text())
    assert sweep["values"] == [0.3, 0.7]
    # Escape is slower under more persistent noise (the paper's claim; here a
    # gap of several standard errors at 200 paths).
    assert sweep["mean_escape_time"][1] > sweep["ci_high"][0]
    assert (tmp_path / "s" / "figures" / "escape.png").stat().st_size > 1000


def test_simulate_rejects_bad_flags(tmp_path):
    result = CliRunner().invoke(
        main, ["simulate", "--paths", "0", "--out", str(tmp_path)]
    )
    _one_line_error(result, "--paths must be >= 1")


@pytest.mark.slow
def test_same_seed_gives_the_same_numbers(quick_run, tmp_path):
    # TF op determinism is on in analyze: a second run must agree exactly
    # (the README states bitwise equality for the CPU build).
    out, _ = quick_run
    again = tmp_path / "again"
    proc = _memsgd(
        "analyze",
        "--quick",
        "--archs",
        "mlp",
        "--coords",
        "100",  # as in quick_run
        "--out",
        str(again),
        "--quiet",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    first = json.loads((out / "summary.json").read_text())["architectures"]
    second = json.loads((again / "summary.json").read_text())["architectures"]
    for block in (first, second):
        for prot in block["mlp"]["protocols"].values():
            prot.get("attrs", {}).pop("seconds", None)
    assert first["mlp"]["protocols"] == second["mlp"]["protocols"]
    assert (
        first["mlp"]["training"]["test_accuracy"]
        == (second["mlp"]["training"]["test_accuracy"])
    )
