"""Which parameter coordinates are recorded: a seeded, layer-stratified subset.

Pure numpy; the variables only need ``path`` (or ``name``) and ``shape``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

# Variable names that belong to normalisation layers in Keras 3
# (BatchNormalization, LayerNormalization, GroupNormalization, ...).
NORM_NAMES = ("gamma", "beta")
EXCLUDE_KINDS = ("bias", "norm")


def variable_path(variable) -> str:
    """The variable's Keras path ("dense0/kernel"), or its name."""
    path = getattr(variable, "path", None) or getattr(variable, "name", "")
    return str(path).split(":")[0]


def _kind_matches(variable, kind: str) -> bool:
    leaf = variable_path(variable).rsplit("/", 1)[-1]
    if kind == "bias":
        return leaf == "bias" or leaf.endswith("_bias")
    parts = variable_path(variable).split("/")
    layer = parts[-2].lower() if len(parts) > 1 else ""
    return leaf in NORM_NAMES or "norm" in layer


@dataclasses.dataclass(frozen=True)
class CoordinateSet:
    """The recorded coordinates, ordered by variable, then flat index.

    Attributes:
        variable_index: (C,) index of each coordinate's variable in the list
            of variables it was drawn from.
        flat_index: (C,) index into the flattened variable.
        variable: (C,) variable paths.
        layer: (C,) layer names (the path without its last component).
        per_variable: for each variable, the sorted flat indices drawn from it
            (empty for excluded variables).
        names: paths of all the variables (length L).
        sizes: number of parameters of each variable.
    """

    variable_index: np.ndarray
    flat_index: np.ndarray
    variable: np.ndarray
    layer: np.ndarray
    per_variable: tuple
    names: tuple
    sizes: tuple

    def __len__(self) -> int:
        return int(self.flat_index.shape[0])

    def to_dict(self) -> dict[str, np.ndarray]:
        return {
            "variable": self.variable,
            "variable_index": self.variable_index.astype(np.int32),
            "flat_index": self.flat_index.astype(np.int64),
            "layer": self.layer,
        }


def _allocate(sizes: np.ndarray, total: int) -> np.ndarray:
    """Split ``total`` over variables: one each, the rest in proportion."""
    counts = np.minimum(sizes, 1)
    rest = total - int(counts.sum())
    room = sizes - counts
    if rest > 0:
        share = rest * room / room.sum()
        extra = np.floor(share).astype(np.int64)
        order = np.argsort(-(share - extra), kind="stable")
        extra[order[: rest - int(extra.sum())]] += 1
        counts = counts + np.minimum(extra, room)
        # Capping cannot bind (share <= room), but keep the sum exact.
        short = total - int(counts.sum())
        for i in np.argsort(-(sizes - counts), kind="stable")[:short]:
            counts[i] += 1
    return counts


def select_coordinates(
    variables: Sequence,
    num_coords: int | None,
    seed: int = 0,
    exclude: Sequence[str] = (),
) -> CoordinateSet:
    """Draw ``num_coords`` coordinates, every eligible variable represented.

    Each eligible variable gets one coordinate, and the rest are shared in
    proportion to the variables' sizes (largest remainder); within a
    variable the coordinates are drawn uniformly without replacement with
    ``numpy.random.default_rng(seed)``.

    Args:
        variables: the trainable variables (anything with ``shape`` and
            ``path``).
        num_coords: how many coordinates; ``None`` records all eligible ones.
        seed: seed of the draw.
        exclude: kinds of variables left out: ``"bias"`` (variables named
            ``bias``) and/or ``"norm"`` (``gamma``/``beta`` and variables of
            layers whose name contains "norm").

    Raises:
        ValueError: no trainable variables, an unknown kind, or more
            coordinates than eligible parameters, or fewer than eligible
            variables.
    """
    variables = list(variables)
    if not variables:
        raise ValueError(
            "There are no trainable variables to record. Build the model "
            "first (call it on data, or give it an `Input`) and make sure it "
            "has trainable weights."
        )
    exclude = tuple(exclude or ())
    bad = [k for k in exclude if k not in EXCLUDE_KINDS]
    if bad:
        raise ValueError(
            f"`exclude` may contain {EXCLUDE_KINDS}. Received: exclude={exclude!r}"
        )
    names = tuple(variable_path(v) for v in variables)
    sizes = np.asarray(
        [int(np.prod(tuple(v.shape), dtype=np.int64)) for v in variables], np.int64
    )
    eligible = np.asarray(
        [not any(_kind_matches(v, k) for k in exclude) for v in variables]
    )
    eligible_sizes = np.where(eligible, sizes, 0)
    total = int(eligible_sizes.sum())
    if total == 0:
        raise ValueError(
            f"No parameters left to record after exclude={exclude!r}; the "
            f"variables are {list(names)}."
        )
    if num_coords is None:
        counts = eligible_sizes
    else:
        if not isinstance(num_coords, (int, np.integer)) or num_coords < 1:
            raise ValueError(
                "`num_coords` must be a positive integer or None. "
                f"Received: num_coords={num_coords!r}"
            )
        n_vars = int((eligible_sizes > 0).sum())
        if num_coords > total:
            raise ValueError(
                f"`num_coords` must be at most the number of eligible "
                f"parameters, {total}. Received: num_coords={num_coords}"
            )
        if num_coords < n_vars:
            raise ValueError(
                f"`num_coords` must be at least the number of recorded "
                f"variables, {n_vars}, so that each is represented. "
                f"Received: num_coords={num_coords}"
            )
        counts = _allocate(eligible_sizes, int(num_coords))
    rng = np.random.default_rng(seed)
    per_variable = []
    for size, count in zip(eligible_sizes, counts):
        if count == size:
            idx = np.arange(size, dtype=np.int64)
        elif count == 0:
            idx = np.zeros(0, np.int64)
        else:
            idx = np.sort(rng.choice(size, int(count), replace=False))
        per_variable.append(idx.astype(np.int64))
    variable_index = np.concatenate(
        [np.full(len(ix), i, np.int64) for i, ix in enumerate(per_variable)]
    )
    flat_index = np.concatenate(per_variable)
    var_names = np.asarray(names, dtype=object)[variable_index].astype(str)
    layers = np.asarray(
        [n.rsplit("/", 1)[0] if "/" in n else n for n in names], dtype=object
    )[variable_index].astype(str)
    return CoordinateSet(
        variable_index=variable_index,
        flat_index=flat_index,
        variable=var_names,
        layer=layers,
        per_variable=tuple(per_variable),
        names=names,
        sizes=tuple(int(s) for s in sizes),
    )
