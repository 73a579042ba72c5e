"""Cached, hashed, atomically written survival fits, with the diagnostics gate.

A fit is identified by a **fit hash**: SHA-256 of the data hash (:func:`hccbayes.inference.fitting.fit.data_hash`),
the spec JSON, the priors JSON, the requested sampler settings, the seed and the package versions.
It is stored as ``fits/<key>.nc`` (key ``<analysis>__<model>__<prior set>``) with the hash and every
input of it in the DataTree attrs (JSON strings). Loading recomputes the hash twice — from the file's
own attrs (integrity) and from the current inputs (validity) — and refuses a file where either differs.
:func:`fit_cached` reuses a valid file and refits a missing, mismatched or unreadable one, logging a
warning for the last two.

Files are written atomically (:func:`hccbayes.atomic.replacing`: ``fits/.<key>.nc.<random>.tmp``, then
:func:`os.replace`); a killed run leaves at most such a temporary file, which :func:`clean_temporary`
removes at the start of the next run.

Diagnostics gate: a fit that fails it is refitted once — after divergent transitions with
:func:`hccbayes.inference.fitting.fit.with_more_care`, after a low ESS or high R-hat with twice the draws; the
refit is recorded in ``attrs["refit"]``. Whatever
the outcome, ``attrs["diagnostics"]`` holds the final fit's record, whose ``ok`` decides the
``diagnostics_ok`` column of every row drawn from it.
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path

from hccbayes.atomic import replacing
from hccbayes.inference.fitting.fit import (
    ModelCache,
    SamplerSettings,
    data_hash,
    diagnostics_of,
    fit,
    priors_json,
    versions,
    with_more_care,
)
from hccbayes.inference.fitting.netcdf import read_groups as read_nc_groups
from hccbayes.inference.fitting.netcdf import write_tree
from hccbayes.models.priors.sets import PriorSet
from hccbayes.models.survival.design import SurvivalData, SurvivalSpec

log = logging.getLogger(__name__)

HASHED_ATTRS = ("data_hash", "spec", "priors", "requested_sampler", "seed", "versions")


def fit_hash(inputs: dict) -> str:
    """SHA-256 (hex) of the canonical JSON of the hashed inputs (see :data:`HASHED_ATTRS`)."""
    canon = {k: json.loads(inputs[k]) for k in HASHED_ATTRS if k not in ("data_hash", "seed")}
    canon.update(data_hash=str(inputs["data_hash"]), seed=int(inputs["seed"]))  # NetCDF returns numpy ints
    return hashlib.sha256(json.dumps(canon, sort_keys=True, default=str).encode()).hexdigest()


def fit_inputs(data: SurvivalData, priors: PriorSet, spec: SurvivalSpec, settings: SamplerSettings,
               seed: int) -> dict:
    return {"data_hash": data_hash(data), "spec": spec.to_json(), "priors": priors_json(priors, spec),
            "requested_sampler": json.dumps(settings.to_dict(), sort_keys=True), "seed": int(seed),
            "versions": json.dumps(versions(), sort_keys=True)}


# attrs that record when or how fast, not what: left out of the stored file, so that the same inputs
# give the same bytes in any run (ArviZ's per-group creation time, the sampling wall-clock time)
VOLATILE_ATTRS = ("created_at", "sampling_seconds")


# The NetCDF library (netCDF4-python, the C library) writes and reads a fit file: measured on a full run's fit
# (7 groups, 30 variables, 2.4 MB) a write through xarray takes 0.033 s against h5netcdf's 0.16-0.19 s (h5netcdf
# pays about 4 ms per stored variable), and reading the posterior group 0.009 s against 0.027 s; a fit is written
# with the library directly (:func:`~hccbayes.inference.fitting.netcdf.write_tree`), faster still. The bytes written
# do not depend on the process or the CPU (no timestamps). Files written by h5netcdf earlier read the same.
ENGINE = "netcdf4"


def write_atomic(dt, path: Path) -> Path:
    """Write a DataTree as NetCDF-4 via a temporary file in the same folder and os.replace; volatile attrs are
    not written (:data:`VOLATILE_ATTRS`)."""
    with replacing(path) as tmp:
        write_tree(dt, tmp, skip_attrs=VOLATILE_ATTRS)
    return Path(path)


def clean_temporary(folder: Path) -> list[Path]:
    """Remove temporary files a killed run left in ``folder`` (the atomic writers' ``*.tmp``)."""
    removed = []
    if folder.is_dir():
        for p in folder.iterdir():
            if p.is_file() and p.name.endswith(".tmp"):
                p.unlink()
                removed.append(p)
    if removed:
        log.warning("removed %d temporary file(s) of an interrupted run in %s", len(removed), folder)
    return removed


class FitMismatch(Exception):
    """A stored fit does not belong to the requested inputs (or its attrs were altered)."""


def _verify(attrs: dict, expected_hash: str) -> None:
    if "fit_hash" not in attrs or any(k not in attrs for k in HASHED_ATTRS):
        raise FitMismatch("no fit hash in the file's attrs")
    if fit_hash(attrs) != attrs["fit_hash"]:
        raise FitMismatch("the attrs do not hash to the stored fit hash (file altered)")
    if attrs["fit_hash"] != expected_hash:
        raise FitMismatch(f"stored hash {str(attrs['fit_hash'])[:12]} != requested {expected_hash[:12]} "
                          "(data, spec, priors, sampler, seed or versions changed)")


def read_attrs(path: Path) -> dict:
    """The root attrs of a stored fit, read with h5py (cheap: no variable is read; netCDF's own ``_NC*``
    bookkeeping is left out)."""
    import h5py

    with h5py.File(path, "r") as f:
        return {k: (v.decode() if isinstance(v, bytes) else v.item() if hasattr(v, "item") else v)
                for k, v in f.attrs.items() if not k.startswith("_NC")}


def read_groups(path: Path, groups: tuple[str, ...], attrs: dict | None = None):
    """Only the named groups of a stored fit (with its root attrs), read into memory; the file is closed."""
    import xarray as xr

    dt = xr.DataTree.from_dict(read_nc_groups(path, groups))
    dt.attrs.update(read_attrs(path) if attrs is None else attrs)
    return dt


def load_fit(path: Path, expected_hash: str, groups: tuple[str, ...] | None = None):
    """Read a stored fit into memory and close the file; raise FitMismatch when the stored hash differs
    from ``expected_hash`` or from the hash of the file's own attrs.

    ``groups=None`` reads the whole DataTree; a tuple of group names reads only those (with the root
    attrs) — the run engine reads just ``posterior``, since rows need nothing else and reading the
    twenty sample-stat variables costs most of the time (about 0.25 s a file against 0.03 s).
    """
    import xarray as xr

    if groups is None:
        with xr.open_datatree(path, engine=ENGINE) as dt:
            dt.load()
            _verify(dict(dt.attrs), expected_hash)
            return dt.copy(deep=True)
    attrs = read_attrs(path)
    _verify(attrs, expected_hash)
    return read_groups(path, groups, attrs)


def is_valid(path: Path, expected_hash: str) -> bool:
    """Whether ``path`` holds a readable fit stored under ``expected_hash`` (attrs only)."""
    try:
        _verify(read_attrs(path), expected_hash)
    except (FitMismatch, OSError, ValueError, KeyError, RuntimeError):
        return False
    return True


@dataclass
class FitOutcome:
    dt: object
    status: str  # "cached" | "fitted"
    seconds: float
    note: str = ""

    @property
    def diagnostics(self):
        return diagnostics_of(self.dt)


def sample_with_gate(data, priors, spec, settings, seed, cache, pointwise: bool | None = None) -> tuple[object, str]:
    """Fit; a fit that fails the diagnostics gate is refitted once — after divergences with a higher
    target_accept and longer tuning (:func:`with_more_care`), after too low an ESS or too high an R-hat
    with twice the draws — and the refit is recorded in the returned note. ``pointwise`` as in :func:`fit`."""
    dt = fit(data, priors, spec, settings, seed=seed, cache=cache, pointwise=pointwise)
    diag = diagnostics_of(dt)
    if diag.ok:
        return dt, ""
    if diag.divergences:
        careful = with_more_care(settings)
        reason = f"{diag.divergences} divergences"
        how = f"target_accept={careful.target_accept:.2f}, tune={careful.tune}"
    else:
        careful = replace(settings, draws=2 * settings.draws)
        reason = "; ".join(diag.problems())
        how = f"draws={careful.draws}"
    log.warning("%s: refitting once with %s", reason, how)
    dt = fit(data, priors, spec, careful, seed=seed, cache=cache, pointwise=pointwise)
    after = diagnostics_of(dt)
    note = f"refit after {reason} with {how}: {'clean' if after.ok else '; '.join(after.problems())}"
    return dt, note



def store_fit(dt, path: Path, inputs: dict, key: str, analysis: str, note: str) -> None:
    """Stamp a new fit with its hashed inputs, fit hash, key, analysis and refit note; write it atomically."""
    dt.attrs.update({**inputs, "fit_hash": fit_hash(inputs), "fit_key": key, "analysis": analysis, "refit": note})
    write_atomic(dt, path)


def fit_cached(key: str, folder: Path, data: SurvivalData, priors: PriorSet, spec: SurvivalSpec,
               settings: SamplerSettings, seed: int, cache: ModelCache, analysis: str = "",
               groups: tuple[str, ...] = ("posterior",)) -> FitOutcome:
    """The fit ``folder/<key>.nc`` if it is valid for these inputs (only ``groups`` read), else a new fit
    written there (in full, in memory)."""
    path = Path(folder) / f"{key}.nc"
    inputs = fit_inputs(data, priors, spec, settings, seed)
    expected = fit_hash(inputs)
    t0 = time.perf_counter()
    if path.exists():
        try:
            dt = load_fit(path, expected, groups=groups)
            return FitOutcome(dt, "cached", time.perf_counter() - t0, dt.attrs.get("refit", ""))
        except FitMismatch as err:
            log.warning("refitting %s: %s", path.name, err)
        except (OSError, ValueError, KeyError, RuntimeError) as err:  # unreadable / truncated NetCDF
            log.warning("refitting %s: unreadable (%s: %s)", path.name, type(err).__name__, err)
    dt, note = sample_with_gate(data, priors, spec, settings, seed, cache)
    store_fit(dt, path, inputs, key, analysis, note)
    return FitOutcome(dt, "fitted", time.perf_counter() - t0, note)
