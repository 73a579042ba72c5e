"""A survival model's data as one ``pm.Data`` vector: one compile of a model is several times cheaper.

A fitted model's arrays (design, time basis, events, prior hyperparameters, imputation rows, ...) are all model
data, so that one compiled model serves every data set and prior set of its structure (``with_data``). nutpie's
compiled log density unpacks each shared variable in its own generated code (a literal-unrolled loop over them),
and that costs about 0.45 s of numba compilation per variable (measured: a toy model with 1, 4, 8, 13 and 20
shared vectors compiled in 1.3, 2.5, 4.2, 6.2 and 10.0 s). A Weibull model had 10 of them, a PEM 7, a Weibull with
regimen effects 13.

So all of them go into one float vector, :data:`PACKED`, which the model slices back: :func:`pack` makes its value,
:class:`PackedData` the model's tensors. The vector starts with the shapes of the arrays (names in sorted order;
the number of dimensions of each is fixed by the model's structure), so the offsets are computed in the graph and
arrays may change size between fits (patients, covariate patterns, imputation rows) as before. Integer arrays
(indices) are stored as floats, exactly (checked below 2**53), and cast back in the graph. The values in the graph
are the arrays' own, element for element: the log density and the draws are those of one ``pm.Data`` per array
(the same posterior bytes, checked on every model structure of the bundled study's plan when this was introduced).
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

PACKED = "model_data"
EXACT = 2.0**53  # integers of larger magnitude are not exact as float64


def _is_int(a: np.ndarray) -> bool:
    return a.dtype.kind in "biu"


def pack(values: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``values`` as the compiled model's data: ``{PACKED: shapes, then each array's values}``."""
    arrays = [np.asarray(values[k]) for k in sorted(values)]
    for name, a in zip(sorted(values), arrays):
        if _is_int(a) and a.size and np.abs(a).max() >= EXACT:
            raise ValueError(f"model data {name!r}: integers of magnitude >= 2**53 cannot be stored exactly")
    shapes = np.array([d for a in arrays for d in a.shape], dtype=np.float64)
    return {PACKED: np.concatenate([shapes, *(a.astype(np.float64).ravel() for a in arrays)])}


class PackedData:
    """The model's tensors of the arrays in ``values`` (inside a model context): ``data[name]``, slices of the one
    ``pm.Data`` vector :data:`PACKED` (see the module docstring)."""

    def __init__(self, values: Mapping[str, np.ndarray]):
        import pymc as pm

        names = sorted(values)
        arrays = {k: np.asarray(values[k]) for k in names}
        packed = pm.Data(PACKED, pack(arrays)[PACKED])
        shapes = [packed[i].astype("int64") for i in range(sum(a.ndim for a in arrays.values()))]
        start, at = len(shapes), 0
        self._tensors = {}
        for name in names:
            ndim = arrays[name].ndim
            shape, at = shapes[at:at + ndim], at + ndim
            size = 1
            for d in shape:
                size = size * d
            flat = packed[start:start + size]
            if _is_int(arrays[name]):
                flat = flat.astype("int64")
            self._tensors[name] = flat.reshape(shape, ndim=ndim) if ndim else flat[0]
            start = start + size

    def __getitem__(self, name: str):
        return self._tensors[name]

    def __contains__(self, name: str) -> bool:
        return name in self._tensors
