"""Study folders whose cohort comes from published Kaplan–Meier curves.

A study declares it in ``study.toml``; ``hccbayes ipd-from-km --study FOLDER`` (or
:func:`write_study_cohort`) then writes the folder's ``cohort.csv`` from the curves, and every
analysis of ``hccbayes run`` on it is marked as based on reconstructed data (:func:`basis_note`)::

    [km_curves]                 # cohort.csv is reconstructed from digitised KM curves (Guyot et al. 2012)
    endpoint = "os"             # the study's one endpoint
    curves = "curves.csv"       # group,time,survival  (paths relative to the study folder)
    at_risk = "at_risk.csv"     # group,time,n_risk
    events = "events.csv"       # optional: group,events
    seed = 1                    # breaks exact half-way roundings (default 0)
    arms = { "Observation" = "Obs", "Levamisole + 5-FU" = "Lev+5FU" }   # curve group -> study arm

Reconstructed patients carry no covariates and cannot be linked across endpoints, so such a study has
one endpoint and no ``[columns]``, ``[response]`` or ``[adverse_events]`` (the study's patients would
need them); a ``regimen_column`` is filled in only when each arm has exactly one regimen.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import pandas as pd

from hccbayes.atomic import write_csv
from hccbayes.data.reconstruction.kmipd.inputs import CurveError
from hccbayes.data.reconstruction.kmipd.reconstruct import Reconstruction, ipd_from_km
from hccbayes.data.study import Study
from hccbayes.errors import Problem, StudyError

__all__ = ["CurveSource", "basis_note", "cohort_as_ipd", "curve_source", "reconstruct_study",
           "write_study_cohort"]

TABLE = "km_curves"
KEYS = ("endpoint", "curves", "at_risk", "events", "seed", "arms")


@dataclass(frozen=True)
class CurveSource:
    """The ``[km_curves]`` declaration of a study, with paths resolved."""

    endpoint: str
    curves: Path
    at_risk: Path
    events: Path | None
    seed: int
    arms: Mapping[str, str]  # curve group -> study arm


def _problems(spec: dict, study: Study, fname: str) -> list[Problem]:
    out: list[Problem] = []

    def bad(message: str, fix: str) -> None:
        out.append(Problem(fname, f"[{TABLE}] {message}", fix))

    for key in spec:
        if key not in KEYS:
            bad(f"unknown key '{key}'", f"use {', '.join(KEYS)} (or delete it)")
    for key in ("curves", "at_risk", "events"):
        value = spec.get(key)
        if value is None and key != "events":
            bad(f"missing key '{key}'", f'add {key} = "<file>.csv" (relative to the study folder)')
        elif value is not None and not (study.folder / str(value)).is_file():
            bad(f"{key} file {value!r} not found in {study.folder}", "name a CSV file in the study folder")
    if spec.get("endpoint") not in {e.name for e in study.endpoints}:
        bad(f"endpoint {spec.get('endpoint')!r} is not an endpoint of the study",
            f"set endpoint to one of {', '.join(e.name for e in study.endpoints) or '(none declared)'}")
    if len(study.endpoints) > 1:
        bad("the study has several endpoints, but patients rebuilt from separate curves cannot be linked",
            "keep one [endpoints.*] table (one study folder per endpoint)")
    for what, present in (("[columns.*]", study.columns), ("[response]", study.response),
                          ("[adverse_events]", study.adverse_events)):
        if present:
            bad(f"reconstructed patients have no {what} values", f"delete {what} from study.toml")
    arms = spec.get("arms")
    if not isinstance(arms, dict) or not arms:
        bad("missing the arms table", 'add arms = { "<curve group>" = "<arm>", ... }')
    elif sorted(arms.values()) != sorted(study.arm_names):
        bad(f"arms maps to {sorted(arms.values())} but the study's arms are {sorted(study.arm_names)}",
            "map exactly one curve group to each [arms.*] of the study")
    if study.regimen_column is not None and any(len(a.regimens) != 1 for a in study.arms):
        bad("regimens cannot be told apart in a curve", "give each arm one regimen, or drop regimen_column")
    if not isinstance(spec.get("seed", 0), int):
        bad(f"seed {spec.get('seed')!r} is not an integer", "set seed = 1")
    return out


def curve_source(study: Study) -> CurveSource | None:
    """The study's ``[km_curves]`` declaration, or None when its cohort is not from curves."""
    path = study.folder / "study.toml"
    spec = tomllib.loads(path.read_text(encoding="utf-8")).get(TABLE) if path.is_file() else None
    if spec is None:
        return None
    problems = _problems(spec, study, str(path))
    if problems:
        raise StudyError(problems, summary=f"{len(problems)} problem(s) in {path}")
    folder = study.folder
    return CurveSource(spec["endpoint"], folder / spec["curves"], folder / spec["at_risk"],
                       folder / spec["events"] if spec.get("events") else None, int(spec.get("seed", 0)),
                       dict(spec["arms"]))


def _require(study: Study) -> CurveSource:
    source = curve_source(study)
    if source is None:
        raise StudyError(Problem(str(study.folder / "study.toml"), f"no [{TABLE}] table: the cohort of study "
                                 f"'{study.name}' is not declared as coming from digitised curves",
                                 f"add a [{TABLE}] table (see hccbayes/data/kmipd/study_source.py)"))
    return source


def reconstruct_study(study: Study, seed: int | None = None) -> tuple[Reconstruction, pd.DataFrame]:
    """The reconstruction of the study's curves and the cohort frame built from it."""
    source = _require(study)
    rec = ipd_from_km(source.curves, source.at_risk, source.events,
                      seed=source.seed if seed is None else seed)
    unknown = [g for g in rec.prepared if g not in source.arms]
    if unknown:
        raise CurveError(Problem(str(source.curves), f"curve group(s) {unknown} are not mapped to an arm",
                                 f"add them to [{TABLE}] arms in {study.folder / 'study.toml'}"))
    ep = study.endpoint(source.endpoint)
    ipd = rec.ipd
    width = len(str(len(ipd)))
    cohort = pd.DataFrame({study.id_column: [f"P{i + 1:0{width}d}" for i in range(len(ipd))],
                           study.arm_column: ipd["group"].map(source.arms).to_numpy()})
    if study.regimen_column is not None:
        cohort[study.regimen_column] = cohort[study.arm_column].map({a.name: a.regimens[0] for a in study.arms})
    cohort[ep.time] = ipd["time"].to_numpy()
    cohort[ep.event] = ipd["event"].to_numpy()
    return rec, cohort


def write_study_cohort(study: Study, out: str | Path | None = None, seed: int | None = None
                       ) -> tuple[Path, Reconstruction, pd.DataFrame]:
    """Write the study's cohort file (default: its ``cohort.csv``) from its curves."""
    rec, cohort = reconstruct_study(study, seed)
    path = Path(out) if out is not None else study.cohort_path
    write_csv(cohort, path)
    return path, rec, cohort


def cohort_as_ipd(cohort: pd.DataFrame, study: Study) -> pd.DataFrame:
    """A cohort frame of a curve study back as ``group, time, event`` (to check it against the curves)."""
    source = _require(study)
    ep = study.endpoint(source.endpoint)
    group = {arm: g for g, arm in source.arms.items()}
    return pd.DataFrame({"group": cohort[study.arm_column].astype(str).map(group).to_numpy(),
                         "time": cohort[ep.time].astype(float).to_numpy(),
                         "event": cohort[ep.event].astype(int).to_numpy()})


def basis_note(study: Study) -> str | None:
    """The note every cohort-based table row of such a study carries; None for other studies."""
    source = curve_source(study)
    if source is None:
        return None
    files = ", ".join(p.name for p in (source.curves, source.at_risk, source.events) if p is not None)
    return (f"patient data reconstructed from digitised Kaplan–Meier curves (Guyot et al. 2012; {files}), "
            "not patient records")
