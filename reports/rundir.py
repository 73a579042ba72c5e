"""Reading a finished run directory (the run engine's output) for the report writers: nothing is refitted,
re-audited or recomputed, and the study folder is not needed.

Layout: ``comparisons.csv`` (the comparison table, :mod:`hccbayes.inference.engine.table`), ``run.json``
(versions, seeds, hashes, timings, plan, per-analysis status; optional here), ``fits/<key>.nc`` (posterior
DataTrees whose attrs carry spec, priors, prior_set, prior_description, sampler, seed and diagnostics
JSON), ``curves.csv`` and ``km.csv`` (what the survival figures plot:
:mod:`hccbayes.inference.engine.curves`), ``study/`` (the study's description, audit findings, the
fidelity table of its cohort and, for a cohort rebuilt from Kaplan–Meier curves, the data of the
reconstruction figure: :mod:`hccbayes.inference.engine.study_record`), ``checks/`` and ``tipping/``.

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

from hccbayes.errors import InputError, Problem
from hccbayes.inference.engine.table import read_table, validate_table
from hccbayes.inference.fitting.cache import ENGINE, read_attrs

log = logging.getLogger(__name__)

STUDY_JSON = "study/study.json"


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
    def diagnostics(self) -> dict[str, Any]:
        return json.loads(self.attrs.get("diagnostics", "{}"))

    @property
    def sampler(self) -> dict[str, Any]:
        return json.loads(self.attrs.get("sampler", "{}"))

    @property
    def versions(self) -> dict[str, str]:
        return json.loads(self.attrs.get("versions", "{}"))

    def load(self, groups: tuple[str, ...] | None = None):
        """The posterior DataTree, read into memory (the file is closed afterwards). ``groups``: read only
        these groups (a report never needs log_likelihood, the largest one)."""
        import xarray as xr

        if groups is None:
            with xr.open_datatree(self.path, engine=ENGINE) as dt:
                dt = dt.load()
        else:
            parts = {}
            for g in groups:
                with xr.open_dataset(self.path, group=g, engine=ENGINE) as ds:
                    parts[g] = ds.load()
            dt = xr.DataTree.from_dict(parts)
            dt.attrs = dict(self.attrs)
        return dt


@dataclass(frozen=True)
class Endpoint:
    name: str
    label: str
    event_label: str


@dataclass(frozen=True)
class StudyInfo:
    """The study as the run recorded it (``study/study.json``)."""

    name: str
    citation: str
    time_unit: str
    endpoints: tuple[Endpoint, ...]
    populations: dict[str, str]  # registry population name -> its label
    provenance: str  # the text of the study's PROVENANCE.md ("" when it has none)
    cohort: str = "reconstructed"  # reconstructed | km_curves | patients (reports/cohort_basis.py)
    randomised: bool = False  # were the arms assigned at random (study.toml); else every contrast is an association
    arms: tuple[str, ...] = ()
    tables: dict[str, str] = field(default_factory=dict)  # registry table key -> title, published.toml order
    arm_multivariable_hrs: tuple[str, ...] = ()  # published multivariable Cox HRs of the arm contrast (entry ids)

    @classmethod
    def from_json(cls, d: dict) -> "StudyInfo":
        return cls(d["name"], d["citation"], d["time_unit"], tuple(Endpoint(**e) for e in d["endpoints"]),
                   dict(d["populations"]), d["provenance"], d.get("cohort", "reconstructed"),
                   bool(d.get("randomised", False)), tuple(d.get("arms", ())), dict(d.get("tables", {})),
                   tuple(d.get("arm_multivariable_hrs", ())))

    @property
    def randomised_arms(self) -> tuple[str, ...]:
        """The arms whose comparisons may be worded as effects: all arms of a randomised study, else none."""
        return self.arms if self.randomised else ()


def _read_csv(path: Path, strings: tuple[str, ...] = ()) -> pd.DataFrame | None:
    """A stored frame (``strings``: columns kept as text, "" for empty), or None when the file is absent."""
    if not path.is_file():
        return None
    frame = pd.read_csv(path, dtype={c: str for c in strings})
    for c in strings:
        if c in frame:
            frame[c] = frame[c].fillna("")
    return frame


@dataclass
class RunData:
    """Everything a report needs from one run directory."""

    path: Path
    table: pd.DataFrame
    study: StudyInfo
    run: dict[str, Any] = field(default_factory=dict)
    fits: dict[str, FitInfo] = field(default_factory=dict)

    @property
    def population_labels(self) -> dict[str, str]:
        """Registry population name -> its label ("<column>:<level>" -> its label)."""
        return self.study.populations

    @property
    def provenance(self) -> str:
        return self.study.provenance

    @cached_property
    def fidelity(self) -> pd.DataFrame | None:
        """The fidelity table of the run's cohort (``study/fidelity.csv``)."""
        return _read_csv(self.path / "study" / "fidelity.csv", ("target", "kind", "source"))

    @cached_property
    def findings(self) -> pd.DataFrame | None:
        """The audit findings about the published figures (``study/audit.csv``)."""
        return _read_csv(self.path / "study" / "audit.csv", ("rule", "severity", "entries", "message", "arithmetic"))

    @cached_property
    def km_reconstruction(self) -> pd.DataFrame | None:
        """The reconstruction figure's data when the cohort was rebuilt from digitised Kaplan–Meier curves."""
        return _read_csv(self.path / "study" / "km_reconstruction.csv", ("part", "group"))

    @cached_property
    def curves(self) -> pd.DataFrame | None:
        """Posterior median and band of the standardised S(t) per analysis, model, prior set and level."""
        return _read_csv(self.path / "curves.csv", ("analysis", "model", "prior_set", "group"))

    @cached_property
    def selection(self) -> pd.DataFrame | None:
        """Per multivariable analysis and term: univariable p, selected, published, used (``selection.csv``)."""
        return _read_csv(self.path / "selection.csv", ("analysis", "endpoint", "population", "rule", "term"))

    @cached_property
    def km(self) -> pd.DataFrame | None:
        """Kaplan–Meier tables of the fitted patients per analysis and level."""
        return _read_csv(self.path / "km.csv", ("analysis", "group"))

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

    @property
    def versions(self) -> dict[str, str]:
        v = self.run.get("versions")
        if isinstance(v, dict) and v:
            return {str(k): str(x) for k, x in v.items()}
        for info in self.fits.values():
            if info.versions:
                return info.versions
        return {}


def _json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(Problem(str(path), f"not valid JSON ({err})", "rerun the analysis to rewrite it")) from err


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
    run_json = run_dir / "run.json"
    run = _json(run_json) if run_json.is_file() else {}
    study_json = run_dir / STUDY_JSON
    if not study_json.is_file():
        raise InputError(Problem(str(study_json), "the run folder does not record its study (written by runs of "
                                 "this version)", "run the plan again into the same folder: every valid fit is "
                                 "reused"))
    try:
        study = StudyInfo.from_json(_json(study_json))
    except (KeyError, TypeError) as err:
        raise InputError(Problem(str(study_json), f"not a study record ({type(err).__name__}: {err})",
                                 "run the plan again into the same folder")) from err
    fits = {}
    for path in sorted((run_dir / "fits").glob("*.nc")):
        fits[path.stem] = FitInfo(path.stem, path, read_attrs(path))
    log.info("run %s: %d table rows, %d fits", run_dir, len(table), len(fits))
    return RunData(run_dir, table, study, run, fits)
