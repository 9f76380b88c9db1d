"""The SGN recording: an HDF5 file that capture writes and analysis reads.

This module needs only h5py and numpy (never TensorFlow), so a recording can be
analysed on any machine. A user can also open the file with plain h5py; the
layout below is the whole contract.

Layout (format ``memsgd-recording``, version 1)::

    /                          file attributes: the run's metadata
        format = "memsgd-recording", format_version = 1,
        created (ISO 8601), memsgd_version, tensorflow_version,
        keras_version, h5py_version, and whatever the caller adds (model,
        optimizer config, dataset, seeds, ...). Attributes whose value is a
        dict or list are stored as JSON strings; their names are listed in
        the attribute ``json_attrs``.
    /<group>                   one series group, e.g. "in_training" or
                               "frozen/epoch_002" (any depth); a group is a
                               series group when it has the attribute
                               ``protocol``
        attrs: protocol ("in_training" | "frozen"), sampler, batch_size,
            probe_every, num_coords, seed, exclude, flush_every, complete
            (False until the writer closes cleanly), num_rows, ... (JSON
            rules as above)
        sgn          (T, C) float32  xi_k = g_k - grad L(w) on C coordinates;
                                     NaN on skipped rows
        step         (T,) int64      global training step (or minibatch index
                                     for the frozen protocol)
        epoch        (T,) int32      epoch (-1 where unknown)
        lr           (T,) float32    learning rate used at the step (NaN if
                                     unknown)
        loss         (T,) float32    minibatch loss (NaN if unknown)
        batch_size   (T,) int32      minibatch size (-1 if unknown)
        skipped      (T,) int8       1 where the step was skipped (mixed
                                     precision overflow): not noise
        probe_age    (T,) int32      steps since the full gradient used for
                                     this row was computed (0 = exact)
        probe_index  (T,) int64      row of ``full_grad`` used for this row
        full_grad    (P, C) float32  full-batch gradient on the coordinates,
                                     once per probe
        full_step    (P,) int64      step at which each full gradient was taken
        full_loss    (P,) float32    full-batch loss at those weights
        coords/variable        (C,) str    variable path, e.g. "dense0/kernel"
        coords/variable_index  (C,) int32  index in the trainable variables
        coords/flat_index      (C,) int64  index into the flattened variable
        coords/layer           (C,) str    layer name (path up to the last /)
        layers/names           (L,) str    variable paths of the summaries
        layers/size            (L,) int64  number of parameters in each
        layers/grad_norm       (T, L) float32  ||g_k|| per variable
        layers/sgn_norm        (T, L) float32  ||xi_k|| per variable
        layers/cosine          (T, L) float32  cos(g_k, grad L) per variable
        projections/grad       (T, M) float32  optional: <g_k, r_j> for M fixed
                                     random unit directions r_j over all
                                     recorded-from parameters (absent when
                                     M = 0)
        projections/full       (P, M) float32  <grad L, r_j> at each probe

The minibatch gradient on the coordinates is ``sgn + full_grad[probe_index]``.
Per-step datasets are chunked and resizable along their first axis; the writer
appends rows in blocks and re-opens and closes the file for each block, so the
file on disk is complete and readable after every block (the flush interval
is the writer's caller's choice; see ``docs/capture.md``).

Example with plain h5py::

    with h5py.File("run.h5") as f:
        g = f["in_training"]
        keep = g["skipped"][:] == 0
        xi = g["sgn"][:][keep]
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import logging
import os
import pathlib
import tempfile
from collections.abc import Iterable, Mapping
from typing import Any

import h5py
import numpy as np

logger = logging.getLogger(__name__)

FORMAT = "memsgd-recording"
FORMAT_VERSION = 1
PROTOCOLS = ("in_training", "frozen")

# name -> (dtype, fill for unknown values). Every per-step dataset has T rows.
STEP_FIELDS: dict[str, tuple[Any, Any]] = {
    "step": (np.int64, -1),
    "epoch": (np.int32, -1),
    "lr": (np.float32, np.nan),
    "loss": (np.float32, np.nan),
    "batch_size": (np.int32, -1),
    "skipped": (np.int8, 0),
    "probe_age": (np.int32, 0),
    "probe_index": (np.int64, 0),
}
LAYER_FIELDS = ("grad_norm", "sgn_norm", "cosine")
FULL_FIELDS: dict[str, Any] = {"full_step": np.int64, "full_loss": np.float32}
_ROW_CHUNK = 64
_STR = h5py.string_dtype()


def _encode_attrs(obj, attrs: Mapping[str, Any]) -> None:
    json_keys = set(json.loads(obj.attrs.get("json_attrs", "[]")))
    for key, value in attrs.items():
        if value is None:
            value, is_json = "null", True
        elif isinstance(value, (dict, list, tuple)):
            value, is_json = json.dumps(value, default=_json_default), True
        elif isinstance(value, (bool, np.bool_)):
            value, is_json = bool(value), False
        elif isinstance(value, (int, float, str, np.integer, np.floating)):
            is_json = False
        else:
            value, is_json = json.dumps(value, default=_json_default), True
        obj.attrs[key] = value
        if is_json:
            json_keys.add(key)
        else:
            json_keys.discard(key)
    obj.attrs["json_attrs"] = json.dumps(sorted(json_keys))


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _decode_attrs(obj) -> dict[str, Any]:
    json_keys = set(json.loads(obj.attrs.get("json_attrs", "[]")))
    out = {}
    for key, value in obj.attrs.items():
        if key == "json_attrs":
            continue
        if isinstance(value, bytes):
            value = value.decode()
        if key in json_keys:
            value = json.loads(value)
        elif isinstance(value, np.generic):
            value = value.item()
        out[key] = value
    return out


def check_writable(path) -> pathlib.Path:
    """Fail early, with the reason, when ``path`` cannot be written."""
    path = pathlib.Path(os.fspath(path))
    parent = path.parent if str(path.parent) else pathlib.Path(".")
    if path.is_dir():
        raise ValueError(f"`path` must be a file, not a folder. Received: {path}")
    if not parent.is_dir():
        raise ValueError(
            f"`path` must be in an existing folder; {parent} does not exist. "
            f"Received: path={path}"
        )
    # Probe with a temporary file next to it: the target itself is never
    # created or removed here (other processes may be writing it).
    try:
        if path.exists():
            with open(path, "ab"):
                pass
        else:
            with tempfile.NamedTemporaryFile(dir=parent, prefix=".memsgd-"):
                pass
    except OSError as exc:
        raise PermissionError(
            f"cannot write the recording to {path}: {exc.strerror}"
        ) from None
    return path


class RecordingWriter:
    """Streams one series group into an HDF5 file.

    Each call to :meth:`append_rows` or :meth:`append_full` opens the file,
    appends, and closes it, so the file is valid between calls and an
    interrupted run keeps every block written so far.

    Args:
        path: the HDF5 file; created if missing, else appended to.
        group: the group name, e.g. ``"in_training"`` or ``"frozen/step_0"``.
            An existing group of that name is replaced.
        protocol: ``"in_training"`` or ``"frozen"``.
        coords: dict with ``variable`` (str), ``variable_index``, ``flat_index``
            and ``layer`` (str) arrays of length C.
        layer_names: variable paths for the per-variable summaries (L).
        layer_sizes: parameters in each of those variables.
        attrs: group attributes (sampler, batch_size, probe_every, ...).
        metadata: file-level attributes; merged into the existing ones.
        num_projections: M, columns of ``projections/grad`` (0 for none).
    """

    def __init__(
        self,
        path,
        group: str,
        protocol: str,
        coords: Mapping[str, np.ndarray],
        layer_names: Iterable[str] = (),
        layer_sizes: Iterable[int] = (),
        attrs: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
        num_projections: int = 0,
    ):
        if protocol not in PROTOCOLS:
            raise ValueError(
                f"`protocol` must be one of {PROTOCOLS}. Received: "
                f"protocol={protocol!r}"
            )
        if not group or group.strip("/") != group:
            raise ValueError(
                "`group` must be a non-empty name without leading or trailing "
                f"'/'. Received: group={group!r}"
            )
        self.path = check_writable(path)
        self.group = group
        self.num_coords = len(coords["flat_index"])
        self.layer_names = [str(n) for n in layer_names]
        self.num_projections = int(num_projections)
        self.num_rows = 0
        self.num_full = 0
        self._open_file: h5py.File | None = None
        c, n_layers = self.num_coords, len(self.layer_names)
        meta = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            "h5py_version": h5py.__version__,
        }
        meta.update(metadata or {})
        with h5py.File(self.path, "a") as f:
            _encode_attrs(f, meta)
            if group in f:
                logger.warning(
                    "replacing group %r of %s (an earlier recording under the "
                    "same name); pass another `group` to keep both",
                    group,
                    self.path,
                )
                del f[group]
            g = f.create_group(group)
            attrs = dict(attrs or {})
            attrs.update(protocol=protocol, complete=False, num_rows=0)
            attrs.setdefault("num_coords", c)
            _encode_attrs(g, attrs)
            g.create_dataset(
                "sgn",
                (0, c),
                np.float32,
                maxshape=(None, c),
                chunks=(_ROW_CHUNK, max(1, c)),
            )
            for name, (dtype, _) in STEP_FIELDS.items():
                g.create_dataset(
                    name, (0,), dtype, maxshape=(None,), chunks=(_ROW_CHUNK * 16,)
                )
            g.create_dataset(
                "full_grad",
                (0, c),
                np.float32,
                maxshape=(None, c),
                chunks=(8, max(1, c)),
            )
            for name, dtype in FULL_FIELDS.items():
                g.create_dataset(name, (0,), dtype, maxshape=(None,), chunks=(256,))
            cg = g.create_group("coords")
            for name, values in coords.items():
                values = np.asarray(values)
                if values.dtype.kind in "UOS":
                    cg.create_dataset(name, data=values.astype(object), dtype=_STR)
                else:
                    cg.create_dataset(name, data=values)
            lg = g.create_group("layers")
            lg.create_dataset(
                "names", data=np.asarray(self.layer_names, dtype=object), dtype=_STR
            )
            lg.create_dataset(
                "size", data=np.asarray(list(layer_sizes), dtype=np.int64)
            )
            for name in LAYER_FIELDS:
                lg.create_dataset(
                    name,
                    (0, n_layers),
                    np.float32,
                    maxshape=(None, n_layers),
                    chunks=(_ROW_CHUNK * 4, max(1, n_layers)),
                )
            if self.num_projections:
                pg = g.create_group("projections")
                m = self.num_projections
                for name in ("grad", "full"):
                    pg.create_dataset(
                        name, (0, m), np.float32, maxshape=(None, m), chunks=(256, m)
                    )

    def append_rows(self, sgn, layers=None, projections=None, **fields) -> None:
        """Append T rows: ``sgn`` (T, C) and per-step fields of length T.

        Fields not given are filled with their "unknown" value (see
        ``STEP_FIELDS``); ``layers`` maps ``grad_norm``/``sgn_norm``/``cosine``
        to (T, L) arrays.
        """
        sgn = np.asarray(sgn, dtype=np.float32)
        if sgn.ndim != 2 or sgn.shape[1] != self.num_coords:
            raise ValueError(
                f"`sgn` must have shape (T, {self.num_coords}). "
                f"Received: shape {sgn.shape}"
            )
        t = sgn.shape[0]
        if t == 0:
            return
        unknown = set(fields) - set(STEP_FIELDS)
        if unknown:
            raise ValueError(f"unknown per-step fields: {sorted(unknown)}")
        with self._file() as f:
            g = f[self.group]
            _append(g, "sgn", sgn)
            for name, (dtype, fill) in STEP_FIELDS.items():
                value = fields.get(name)
                if value is None:
                    value = np.full(t, fill, dtype)
                _append(g, name, np.broadcast_to(np.asarray(value, dtype), (t,)))
            layers = layers or {}
            for name in LAYER_FIELDS:
                value = layers.get(name)
                if value is None:
                    value = np.full((t, len(self.layer_names)), np.nan, np.float32)
                _append(g, f"layers/{name}", np.asarray(value, np.float32))
            if self.num_projections:
                if projections is None:
                    projections = np.full((t, self.num_projections), np.nan)
                _append(g, "projections/grad", np.asarray(projections, np.float32))
            self.num_rows += t
            g.attrs["num_rows"] = self.num_rows

    def append_full(
        self, full_grad, full_step, full_loss=np.nan, projections=None
    ) -> None:
        """Append P full-gradient rows (P, C) with their steps and losses."""
        full = np.asarray(full_grad, dtype=np.float32)
        if full.ndim == 1:
            full = full[None]
        if full.shape[1:] != (self.num_coords,):
            raise ValueError(
                f"`full_grad` must have shape (P, {self.num_coords}). "
                f"Received: shape {full.shape}"
            )
        p = full.shape[0]
        if p == 0:
            return
        with self._file() as f:
            g = f[self.group]
            _append(g, "full_grad", full)
            _append(g, "full_step", np.broadcast_to(np.asarray(full_step), (p,)))
            _append(g, "full_loss", np.broadcast_to(np.asarray(full_loss), (p,)))
            if self.num_projections:
                if projections is None:
                    projections = np.full((p, self.num_projections), np.nan)
                _append(g, "projections/full", np.asarray(projections, np.float32))
            self.num_full += p

    @contextlib.contextmanager
    def session(self):
        """Keep the file open for the writes inside the ``with`` block.

        Each write otherwise opens and closes the file; a block of writes
        (rows, full gradients, attributes) then costs one open. The file is
        complete again when the block ends.
        """
        with self._file():
            yield self

    @contextlib.contextmanager
    def _file(self):
        if self._open_file is not None:
            yield self._open_file
            return
        with h5py.File(self.path, "a") as f:
            self._open_file = f
            try:
                yield f
            finally:
                self._open_file = None

    def set_attrs(self, **attrs) -> None:
        """Add or replace attributes of the group."""
        with self._file() as f:
            _encode_attrs(f[self.group], attrs)

    def close(self, **attrs) -> None:
        """Mark the group complete (``complete = True``) and add ``attrs``."""
        self.set_attrs(complete=True, num_rows=self.num_rows, **attrs)


def _append(group, name, values) -> None:
    """Append ``values`` along the first axis of the dataset ``name``.

    Through h5py's low-level API: the high-level lookup, ``resize`` and
    slice assignment cost about 0.3 ms per dataset, most of a flush's time
    (the rows are a few kB). HDF5 converts ``values`` to the dataset's type,
    as the slice assignment does.
    """
    values = np.ascontiguousarray(values)
    dataset = h5py.h5d.open(group.id, name.encode())
    shape = dataset.get_space().shape
    if values.shape[1:] != shape[1:]:
        raise ValueError(
            f"cannot append rows of shape {values.shape[1:]} to {name!r}, "
            f"whose rows have shape {shape[1:]}"
        )
    dataset.set_extent((shape[0] + values.shape[0], *shape[1:]))
    if not values.size:
        return
    space = dataset.get_space()
    start = (shape[0], *(0 for _ in shape[1:]))
    space.select_hyperslab(start, values.shape)
    dataset.write(h5py.h5s.create_simple(values.shape), space, values)


@dataclasses.dataclass
class SeriesGroup:
    """One recorded series group, skipped rows removed.

    Attributes:
        name: the group's path in the file.
        sgn: (T, C) float32, xi_k on C coordinates, one row per recorded
            (not skipped) step.
        protocol: ``"in_training"`` or ``"frozen"``.
        attrs: the group's attributes (sampler, batch_size, probe_every, ...).
        coords: dict of (C,) arrays: ``variable``, ``variable_index``,
            ``flat_index``, ``layer``.
        step, epoch, lr, loss, batch_size, probe_age, probe_index: (T,) arrays
            aligned with ``sgn``.
        skipped_steps: steps that were skipped (mixed-precision overflow).
        full_grad, full_step, full_loss: the full gradients (P, C) and when
            they were taken.
        layers: dict with ``names`` (L,), ``size`` (L,) and (T, L) arrays
            ``grad_norm``, ``sgn_norm``, ``cosine``.
        projections: (T, M) random projections of the gradient, or None.
        full_projections: (P, M) the same projections of the full gradients.
    """

    name: str
    sgn: np.ndarray
    protocol: str
    attrs: dict
    coords: dict
    step: np.ndarray
    epoch: np.ndarray
    lr: np.ndarray
    loss: np.ndarray
    batch_size: np.ndarray
    probe_age: np.ndarray
    probe_index: np.ndarray
    skipped_steps: np.ndarray
    full_grad: np.ndarray
    full_step: np.ndarray
    full_loss: np.ndarray
    layers: dict
    projections: np.ndarray | None = None
    full_projections: np.ndarray | None = None

    @property
    def grad(self) -> np.ndarray:
        """(T, C): the minibatch gradients, ``sgn + full_grad[probe_index]``."""
        if len(self.full_grad) == 0:
            return np.full_like(self.sgn, np.nan)
        return self.sgn + self.full_grad[self.probe_index]

    @property
    def exact(self) -> np.ndarray:
        """(T,) bool: rows whose full gradient was taken at the same weights."""
        return self.probe_age == 0


@dataclasses.dataclass
class Recording:
    """A recording file: file-level ``metadata`` and its series ``groups``."""

    path: str
    metadata: dict
    groups: dict[str, SeriesGroup]


def _read_group(name: str, g) -> SeriesGroup:
    skipped = g["skipped"][:].astype(bool)
    keep = ~skipped
    step = g["step"][:]
    fields = {k: g[k][:][keep] for k in STEP_FIELDS if k != "skipped"}
    coords = {}
    for key, ds in g["coords"].items():
        values = ds[:]
        if ds.dtype.kind == "O":
            values = np.asarray(
                [v.decode() if isinstance(v, bytes) else v for v in values],
                dtype=object,
            ).astype(str)
        coords[key] = values
    layers: dict[str, Any] = {}
    if "layers" in g:
        lg = g["layers"]
        layers["names"] = np.asarray(
            [v.decode() if isinstance(v, bytes) else v for v in lg["names"][:]],
            dtype=object,
        ).astype(str)
        layers["size"] = lg["size"][:]
        for key in LAYER_FIELDS:
            layers[key] = lg[key][:][keep]
    projections = full_projections = None
    if "projections" in g:
        projections = g["projections/grad"][:][keep]
        full_projections = g["projections/full"][:]
    return SeriesGroup(
        name=name,
        sgn=g["sgn"][:][keep],
        protocol=str(g.attrs["protocol"]),
        attrs=_decode_attrs(g),
        coords=coords,
        skipped_steps=step[skipped],
        full_grad=g["full_grad"][:],
        full_step=g["full_step"][:],
        full_loss=g["full_loss"][:],
        layers=layers,
        projections=projections,
        full_projections=full_projections,
        **fields,
    )


def read(path) -> Recording:
    """Read a recording written by :mod:`memsgd.capture`.

    Args:
        path: the HDF5 file.

    Returns:
        A :class:`Recording` whose ``groups`` maps each series group's path
        (e.g. ``"in_training"``, ``"frozen/epoch_002"``) to a
        :class:`SeriesGroup` with skipped rows removed.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no recording at {path}")
    groups: dict[str, SeriesGroup] = {}
    with h5py.File(path, "r") as f:
        if f.attrs.get("format") != FORMAT:
            raise ValueError(
                f"{path} is not a memsgd recording (its `format` attribute is "
                f"{f.attrs.get('format')!r}, expected {FORMAT!r})"
            )
        metadata = _decode_attrs(f)

        def visit(name, obj):
            if isinstance(obj, h5py.Group) and "protocol" in obj.attrs:
                groups[name] = _read_group(name, obj)

        f.visititems(visit)
    return Recording(path=path, metadata=metadata, groups=groups)


__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "PROTOCOLS",
    "Recording",
    "RecordingWriter",
    "SeriesGroup",
    "check_writable",
    "read",
]
