"""Reading a finished run directory (the run engine's output) for the report writers — no refitting.

Layout (issue 6): ``comparisons.csv`` (the comparison table, :mod:`hccbayes.inference.engine.table`),
``run.json`` (versions, seeds, hashes, timings, plan, per-analysis status; optional here),
``fits/<key>.nc`` (posterior DataTrees whose attrs carry spec, priors, prior_set, prior_description,
sampler, seed and diagnostics JSON) and optionally ``fidelity.csv``.

A fit is matched to table rows by its model and prior set (from its attrs) and its analysis: the
``analysis`` attr when the engine writes one, else the part of the file key before the first ``__``
(the key convention ``<analysis>__<model>__<prior set>``).
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from hccbayes.atomic import write_text
from hccbayes.data import load_study
from hccbayes.data.cohort import load_cohort
from hccbayes.data.published.audit import audit, findings_frame
from hccbayes.data.published.registry import load_registry
from hccbayes.data.reconstruction.kmipd.study_source import cohort_as_ipd, curve_source, reconstruct_study
from hccbayes.errors import InputError, Problem
from hccbayes.inference.engine.table import read_table, validate_table
from hccbayes.inference.frequentist.fidelity import fidelity
from hccbayes.inference.frequentist.kmipd_fidelity import study_fidelity

log = logging.getLogger(__name__)

DEFAULT_STUDY = "yin2025"


@dataclass
class FitInfo:
    key: str
    path: Path
    attrs: dict[str, Any]

    @property
    def spec(self) -> dict[str, Any]:
        return json.loads(self.attrs.get("spec", "{}"))

    @property
    def model(self) -> str:
        return str(self.spec.get("model", ""))

    @property
    def prior_set(self) -> str:
        return str(self.attrs.get("prior_set", ""))

    @property
    def analysis(self) -> str:
        return str(self.attrs.get("analysis") or self.key.split("__")[0])

    @property
    def source(self) -> str:
        return f"bayes:{self.model}:{self.prior_set}"

    @property
    def diagnostics(self) -> dict[str, Any]:
        return json.loads(self.attrs.get("diagnostics", "{}"))

    @property
    def sampler(self) -> dict[str, Any]:
        return json.loads(self.attrs.get("sampler", "{}"))

    @property
    def versions(self) -> dict[str, str]:
        return json.loads(self.attrs.get("versions", "{}"))

    def load(self, groups: tuple[str, ...] | None = None, max_draws: int | None = None):
        """The posterior DataTree, read into memory (the file is closed afterwards). ``groups``: read only
        these groups (a report never needs log_likelihood, the largest one); ``max_draws``: keep about
        this many posterior draws in all, evenly thinned per chain (see :func:`thin`)."""
        import xarray as xr

        if groups is None:
            with xr.open_datatree(self.path) as dt:
                dt = dt.load()
        else:
            parts = {}
            for g in groups:
                with xr.open_dataset(self.path, group=g, engine="h5netcdf") as ds:
                    parts[g] = ds.load()
            dt = xr.DataTree.from_dict(parts)
            dt.attrs = dict(self.attrs)
        if max_draws is not None and "posterior" in dt.children:
            dt["posterior"] = xr.DataTree(thin(dt["posterior"].to_dataset(), max_draws))
        return dt


def thin(posterior, max_draws: int):
    """Every k-th draw of each chain so that at most about ``max_draws`` draws remain in all."""
    total = posterior.sizes["chain"] * posterior.sizes["draw"]
    step = max(1, -(-total // max_draws))
    return posterior.isel(draw=slice(None, None, step))


def _attrs(path: Path) -> dict[str, Any]:
    """The root attributes of a fit file, read with h5py (about twice as fast as through h5netcdf, which
    matters for the hundreds of fits of a full run; netCDF's own ``_NC*`` bookkeeping is skipped)."""
    import h5py

    with h5py.File(path, "r") as f:
        return {k: (v.decode() if isinstance(v, bytes) else v.item() if hasattr(v, "item") else v)
                for k, v in f.attrs.items() if not k.startswith("_NC")}


@dataclass
class RunData:
    """Everything a report needs from one run directory."""

    path: Path
    table: pd.DataFrame
    run: dict[str, Any] = field(default_factory=dict)
    fits: dict[str, FitInfo] = field(default_factory=dict)

    @property
    def study_name(self) -> str:
        return str(self.run.get("study") or DEFAULT_STUDY)

    @cached_property
    def study(self):
        return load_study(self.study_name)

    @cached_property
    def fidelity(self) -> pd.DataFrame:
        """``fidelity.csv`` of the run when present, else recomputed from the study's cohort (about a
        second and a half) and stored there atomically, so the next rebuild reads it. A run directory
        that cannot be written to is logged and the table is recomputed each time."""
        path = self.path / "fidelity.csv"
        if path.is_file():
            return pd.read_csv(path)

        cohort = self.run.get("cohort")
        check = study_fidelity if curve_source(self.study) is not None else fidelity  # cohort from KM curves?
        frame = check(self.study, cohort if cohort and Path(cohort).is_file() else None)
        try:
            write_text(path, frame.to_csv(index=False))
        except OSError as err:
            log.warning("could not store the recomputed fidelity table in %s (%s)", path, err)
        return frame

    @cached_property
    def curve_reconstruction(self):
        """(reconstruction, the run's cohort as group/time/event) when the study's cohort comes from digitised
        Kaplan–Meier curves (:mod:`hccbayes.data.reconstruction.kmipd.study_source`), for the report's figure; else None."""

        if curve_source(self.study) is None:
            return None
        cohort = self.run.get("cohort")
        path = Path(cohort) if cohort and Path(cohort).is_file() else self.study.cohort_path
        return reconstruct_study(self.study)[0], cohort_as_ipd(load_cohort(path, self.study), self.study)

    @cached_property
    def registry(self):
        return load_registry(self.study_name)

    @cached_property
    def findings(self) -> pd.DataFrame:
        return findings_frame(audit(self.registry))

    @property
    def population_labels(self) -> dict[str, str]:
        """Registry population name -> its label ("afp_change:elevated" -> "AFP elevated after 8 weeks")."""
        return {name: pop.label for name, pop in self.registry.populations.items()}

    @cached_property
    def provenance(self) -> str:
        path = self.study.folder / "PROVENANCE.md"
        return path.read_text(encoding="utf-8") if path.is_file() else ""

    @cached_property
    def tipping(self) -> dict[str, dict]:
        """analysis -> its stored tipping-point search (``tipping/<analysis>.json``: model, prior_set and
        per search the evaluated points), the curves of the report; unreadable files are logged and skipped."""
        out = {}
        for path in sorted((self.path / "tipping").glob("*.json")):
            try:
                stored = json.loads(path.read_text(encoding="utf-8"))
                searches = stored["points"]
                if not all({"parameter", "target", "points", "value"} <= set(s) for s in searches):
                    raise ValueError("a search lacks parameter, target, points or value")
                out[str(stored.get("analysis", path.stem))] = stored
            except (OSError, ValueError, UnicodeDecodeError, KeyError, TypeError) as err:
                log.warning("tipping-point file %s skipped, no curve drawn (%s: %s)", path, type(err).__name__, err)
        return out

    def fit_for(self, analysis: str, source: str) -> FitInfo | None:
        for info in self.fits.values():
            if info.analysis == analysis and info.source == source:
                return info
        return None

    @property
    def versions(self) -> dict[str, str]:
        v = self.run.get("versions")
        if isinstance(v, dict) and v:
            return {str(k): str(x) for k, x in v.items()}
        for info in self.fits.values():
            if info.versions:
                return info.versions
        return {}


def load_run(run_dir: str | Path) -> RunData:
    """Read a run directory; raises :class:`InputError` naming the file and the fix when unusable."""
    run_dir = Path(run_dir)
    csv = run_dir / "comparisons.csv"
    if not csv.is_file():
        raise InputError(Problem(str(csv), "no comparison table in this directory",
                                 "run 'hccbayes reproduce' or 'hccbayes run' first, or pass the run "
                                 "directory that holds comparisons.csv"))
    table = read_table(csv)
    problems = validate_table(table)
    if problems:
        raise InputError([Problem(str(csv), p, "rewrite the table with hccbayes.inference.engine.table.write_table")
                          for p in problems], "the comparison table breaks its contract")
    run: dict[str, Any] = {}
    run_json = run_dir / "run.json"
    if run_json.is_file():
        try:
            run = json.loads(run_json.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise InputError(Problem(str(run_json), f"not valid JSON ({err})",
                                     "rerun the analysis to rewrite it")) from err
    fits = {}
    for path in sorted((run_dir / "fits").glob("*.nc")):
        fits[path.stem] = FitInfo(path.stem, path, _attrs(path))
    log.info("run %s: %d table rows, %d fits", run_dir, len(table), len(fits))
    return RunData(run_dir, table, run, fits)
