"""The HDF5 recording: writer, reader, and readability with plain h5py."""

import subprocess
import sys

import h5py
import numpy as np
import pytest

from memsgd import recording

COORDS = {
    "variable": np.array(["d/kernel", "d/kernel", "d/bias"]),
    "variable_index": np.array([0, 0, 1], np.int32),
    "flat_index": np.array([0, 3, 0], np.int64),
    "layer": np.array(["d", "d", "d"]),
}


def _writer(path, group="in_training", protocol="in_training", **kw):
    return recording.RecordingWriter(
        path,
        group,
        protocol,
        COORDS,
        layer_names=["d/kernel", "d/bias"],
        layer_sizes=[4, 1],
        attrs={"sampler": "fit", "exclude": ["bias"], "batch_size": 8},
        metadata={"model": "toy", "optimizer": {"name": "SGD", "lr": 0.1}},
        **kw,
    )


def test_round_trip(tmp_path, rng):
    path = tmp_path / "r.h5"
    w = _writer(path)
    full = rng.normal(size=(2, 3)).astype(np.float32)
    w.append_full(full, [0, 3], [1.0, 0.5])
    sgn = rng.normal(size=(5, 3)).astype(np.float32)
    w.append_rows(
        sgn[:3],
        step=[0, 1, 2],
        epoch=0,
        lr=0.1,
        probe_index=0,
        probe_age=[0, 1, 2],
        layers={"grad_norm": np.ones((3, 2))},
    )
    w.append_rows(sgn[3:], step=[3, 4], epoch=1, probe_index=1, probe_age=[0, 1])
    w.close()
    rec = recording.read(path)
    assert rec.metadata["format"] == recording.FORMAT
    assert rec.metadata["optimizer"] == {"name": "SGD", "lr": 0.1}
    g = rec.groups["in_training"]
    assert g.protocol == "in_training"
    np.testing.assert_array_equal(g.sgn, sgn)
    np.testing.assert_array_equal(g.step, np.arange(5))
    np.testing.assert_array_equal(g.epoch, [0, 0, 0, 1, 1])
    assert np.isnan(g.lr[3]) and g.lr[0] == np.float32(0.1)
    np.testing.assert_array_equal(g.exact, [1, 0, 0, 1, 0])
    np.testing.assert_allclose(g.grad, sgn + full[[0, 0, 0, 1, 1]])
    assert g.attrs["exclude"] == ["bias"] and g.attrs["complete"] is True
    assert list(g.coords["variable"]) == list(COORDS["variable"])
    assert list(g.layers["names"]) == ["d/kernel", "d/bias"]
    assert g.layers["grad_norm"].shape == (5, 2)
    assert np.isnan(g.layers["cosine"]).all()


def test_skipped_rows_are_not_noise(tmp_path):
    path = tmp_path / "r.h5"
    w = _writer(path)
    sgn = np.arange(12, dtype=np.float32).reshape(4, 3)
    sgn[1] = np.nan
    w.append_rows(sgn, step=[0, 1, 2, 3], skipped=[0, 1, 0, 0])
    g = recording.read(path).groups["in_training"]
    assert g.sgn.shape == (3, 3) and np.isfinite(g.sgn).all()
    np.testing.assert_array_equal(g.step, [0, 2, 3])
    np.testing.assert_array_equal(g.skipped_steps, [1])


def test_nested_groups_and_incomplete_flag(tmp_path):
    path = tmp_path / "r.h5"
    _writer(path, "frozen/step_0000010", "frozen").append_rows(np.zeros((2, 3)))
    _writer(path).close()
    rec = recording.read(path)
    assert set(rec.groups) == {"frozen/step_0000010", "in_training"}
    assert rec.groups["frozen/step_0000010"].attrs["complete"] is False
    assert rec.groups["frozen/step_0000010"].protocol == "frozen"


def test_plain_h5py_without_tensorflow(tmp_path):
    path = tmp_path / "r.h5"
    w = _writer(path)
    w.append_rows(np.ones((4, 3)), step=np.arange(4))
    w.close()
    code = (
        "import sys, h5py, memsgd.recording as r\n"
        f"f = h5py.File({str(path)!r}, 'r')\n"
        "assert f['in_training/sgn'].shape == (4, 3)\n"
        "assert f.attrs['format'] == 'memsgd-recording'\n"
        f"r.read({str(path)!r})\n"
        "assert 'tensorflow' not in sys.modules, 'recording imported TF'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_bad_input(tmp_path):
    with pytest.raises(ValueError, match="protocol"):
        _writer(tmp_path / "a.h5", protocol="other")
    with pytest.raises(ValueError, match="does not exist"):
        _writer(tmp_path / "missing" / "a.h5")
    w = _writer(tmp_path / "a.h5")
    with pytest.raises(ValueError, match=r"shape \(T, 3\)"):
        w.append_rows(np.zeros((2, 4)))
    (tmp_path / "x.h5").write_bytes(b"")
    with h5py.File(tmp_path / "y.h5", "w") as f:
        f.attrs["format"] = "other"
    with pytest.raises(ValueError, match="not a memsgd recording"):
        recording.read(tmp_path / "y.h5")
    with pytest.raises(FileNotFoundError):
        recording.read(tmp_path / "nope.h5")
