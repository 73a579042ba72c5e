"""Study definitions: ``studies/<name>/study.toml`` read into an immutable :class:`Study`.

A study folder holds everything about one study: ``study.toml`` (arms, regimens, endpoints, columns,
cut-offs, adverse events, model factors), ``published.toml`` (the paper's numbers), ``cohort.csv``
(patient-level or pseudo-patient data), ``plan.toml`` and ``PROVENANCE.md``. Nothing study-specific is
coded in Python: a user adds a study by adding a folder, and names it by path.
"""
from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np
import pandas as pd

from hccbayes.errors import Problem, StudyError

log = logging.getLogger(__name__)

STUDIES_DIR = Path(__file__).resolve().parent / "studies"
COLUMN_TYPES = ("continuous", "categorical", "binary")


@dataclass(frozen=True)
class Column:
    """One patient-level cohort column declared by the study."""

    name: str
    type: str  # continuous | categorical | binary
    label: str
    levels: tuple = ()
    unit: str = ""
    min: float | None = None
    max: float | None = None
    cutoff: float | None = None
    measured_at: float | None = None  # post-baseline covariate: measured this long after time zero


@dataclass(frozen=True)
class Factor:
    """A binary model term derived from a column: value > ``above``, or value in ``levels``."""

    name: str
    label: str
    column: str
    above: float | None = None
    levels: tuple = ()

    def indicator(self, values):
        """0/1 indicator (pandas Series or array) of the factor's first-named level."""

        s = pd.Series(values)
        if self.above is not None:
            out = (s.astype(float) > self.above).astype(float)
        elif all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in self.levels):
            out = pd.to_numeric(s, errors="coerce").isin([float(v) for v in self.levels]).astype(float)
        else:
            wanted = {str(v) for v in self.levels}
            out = s.astype(str).isin(wanted).astype(float)
        out[s.isna()] = np.nan
        return out


@dataclass(frozen=True)
class Endpoint:
    name: str
    label: str
    time: str
    event: str
    event_label: str = "event"
    implies: str | None = None  # an event here is also an event of that endpoint, and its time is >=


@dataclass(frozen=True)
class Arm:
    name: str
    label: str
    regimens: tuple[str, ...]


@dataclass(frozen=True)
class Response:
    column: str
    label: str
    categories: tuple[str, ...]
    objective: tuple[str, ...]
    disease_control: tuple[str, ...]


@dataclass(frozen=True)
class Study:
    name: str
    title: str
    citation: str
    folder: Path
    time_unit: str
    id_column: str
    arm_column: str | None  # None: no treatment arms (a single-arm or biomarker-only cohort)
    regimen_column: str | None  # None: the study has no regimens (e.g. a cohort from published KM curves)
    reference_arm: str | None  # None when the study has no arms; default: the first arm declared
    arms: tuple[Arm, ...]
    regimens: Mapping[str, str]
    endpoints: tuple[Endpoint, ...]
    response: Response | None
    columns: tuple[Column, ...]
    adverse_events: tuple[tuple[str, str], ...]  # (name, label)
    ae_grades: tuple[str, ...]
    ae_total: str | None
    factors: Mapping[str, Factor] = field(default_factory=dict)
    cohort_file: str = "cohort.csv"
    randomised: bool = False  # were the arms assigned at random? (sets the wording of the report)
    ae_grade_labels: Mapping[str, str] = field(default_factory=dict)  # grade -> how titles name it

    # -- convenience -------------------------------------------------------------------------------
    @property
    def arm_names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.arms)

    def arm(self, name: str) -> Arm:
        for a in self.arms:
            if a.name == name:
                return a
        raise KeyError(name)

    def arm_of_regimen(self, regimen: str) -> str:
        for a in self.arms:
            if regimen in a.regimens:
                return a.name
        raise KeyError(regimen)

    def endpoint(self, name: str) -> Endpoint:
        for e in self.endpoints:
            if e.name == name:
                return e
        raise KeyError(name)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def ae_column(self, event: str, grade: str) -> str:
        return f"ae_{event}_{grade}"

    @property
    def ae_columns(self) -> tuple[str, ...]:
        return tuple(self.ae_column(e, g) for e, _ in self.adverse_events for g in self.ae_grades)

    @property
    def path(self) -> Path:
        return self.folder

    @property
    def cohort_path(self) -> Path:
        return self.folder / self.cohort_file

    @property
    def published_path(self) -> Path:
        return self.folder / "published.toml"

    @property
    def plan_path(self) -> Path:
        return self.folder / "plan.toml"


def list_studies() -> list[str]:
    """Names of the studies bundled with the package."""
    return sorted(p.name for p in STUDIES_DIR.iterdir() if (p / "study.toml").is_file())


def default_study() -> str:
    """The bundled study used where none is named (``data/studies/default.toml``)."""
    path = STUDIES_DIR / "default.toml"
    try:
        name = tomllib.loads(path.read_text(encoding="utf-8")).get("default")
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise StudyError(Problem(str(path), f"cannot be read ({err})", 'write default = "<bundled study>"')) from None
    if name not in list_studies():
        raise StudyError(Problem(str(path), f"default {name!r} is not a bundled study",
                                 f"write default = one of {', '.join(list_studies())}"))
    return name


def resolve_study_folder(name_or_path: str | Path) -> Path:
    """A bundled study by name, or any study folder (or its study.toml) by path."""
    p = Path(name_or_path)
    if p.is_file() and p.name == "study.toml":
        p = p.parent
    if (p / "study.toml").is_file():
        return p.resolve()
    bundled = STUDIES_DIR / str(name_or_path)
    if (bundled / "study.toml").is_file():
        return bundled
    raise StudyError(
        Problem(
            file=str(name_or_path),
            message="no study of that name is bundled and no study.toml is in that folder",
            fix=f"use one of {', '.join(list_studies()) or '(none)'} or the path of a folder "
            "holding study.toml",
        ),
        summary="study not found",
    )


def load_study(name_or_path: str | Path | None = None) -> Study:
    """Read and check a study definition (default: :func:`default_study`); every problem is reported at once
    as a StudyError."""
    folder = resolve_study_folder(default_study() if name_or_path is None else name_or_path)
    path = folder / "study.toml"
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise StudyError(Problem(str(path), f"not valid TOML: {err}", "fix the syntax")) from None
    return _parse(raw, folder, str(path))


def _parse(raw: dict[str, Any], folder: Path, fname: str) -> Study:
    problems: list[Problem] = []

    def need(table: dict, key: str, where: str):
        if key not in table:
            problems.append(Problem(fname, f"missing key '{where}.{key}'", f"add {key} = ... under [{where}]"))
            return None
        return table[key]

    head = raw.get("study", {})
    for key in ("name", "id_column"):
        need(head, key, "study")

    arms = tuple(
        Arm(name, spec.get("label", name), tuple(spec.get("regimens", ())))
        for name, spec in raw.get("arms", {}).items()
    )
    if arms and not head.get("arm_column"):
        problems.append(Problem(fname, "arms are declared but [study] has no arm_column",
                                "add arm_column = \"<cohort column>\" under [study], or delete the [arms.*] "
                                "tables (a study without arms analyses covariates only)"))
    if head.get("arm_column") and not arms:
        problems.append(Problem(fname, f"arm_column = {head['arm_column']!r} but no arm is declared",
                                "declare [arms.<name>] tables, or delete arm_column"))
    regimens = dict(raw.get("regimens", {}))
    if not head.get("regimen_column") and (regimens or any(a.regimens for a in arms)):
        problems.append(Problem(fname, "regimens are declared but [study] has no regimen_column",
                                "add regimen_column = \"<cohort column>\" under [study], or delete the "
                                "[regimens] table and the arms' regimens lists"))
    for a in arms:
        for r in a.regimens:
            if r not in regimens:
                problems.append(Problem(fname, f"arm '{a.name}' names regimen '{r}' not in [regimens]",
                                        f"add {r} = \"label\" under [regimens]"))
    randomised = head.get("randomised", False)
    if not isinstance(randomised, bool):
        problems.append(Problem(fname, f"[study] randomised = {randomised!r} is not true or false",
                                "write randomised = true for a randomised trial, false otherwise"))
    if head.get("reference_arm") is not None and head.get("reference_arm") not in {a.name for a in arms}:
        problems.append(Problem(fname, f"reference_arm '{head['reference_arm']}' is not an arm",
                                "name one of the [arms.*] tables"))

    endpoints = []
    for name, spec in raw.get("endpoints", {}).items():
        if not {"time", "event"} <= set(spec):
            problems.append(Problem(fname, f"endpoint '{name}' needs 'time' and 'event' columns",
                                    f"add time = ... and event = ... under [endpoints.{name}]"))
            continue
        endpoints.append(Endpoint(name, spec.get("label", name), spec["time"], spec["event"],
                                  spec.get("event_label", "event"), spec.get("implies")))

    resp = raw.get("response")
    response = None
    if resp:
        cats = tuple(resp.get("categories", ()))
        response = Response(resp.get("column", "best_response"), resp.get("label", "Best response"), cats,
                            tuple(resp.get("objective", ())), tuple(resp.get("disease_control", ())))
        for sub in ("objective", "disease_control"):
            bad = set(getattr(response, sub)) - set(cats)
            if bad:
                problems.append(Problem(fname, f"response.{sub} names unknown categories {sorted(bad)}",
                                        "use names from response.categories"))

    columns = []
    for name, spec in raw.get("columns", {}).items():
        ctype = spec.get("type")
        if ctype not in COLUMN_TYPES:
            problems.append(Problem(fname, f"column '{name}' has type {ctype!r}",
                                    f"set type to one of {', '.join(COLUMN_TYPES)}"))
            continue
        if ctype == "categorical" and not spec.get("levels"):
            problems.append(Problem(fname, f"categorical column '{name}' has no levels",
                                    "add levels = [...] (reference level first)"))
        measured_at = spec.get("measured_at")
        if measured_at is not None and (isinstance(measured_at, bool) or not isinstance(measured_at, (int, float))
                                        or not measured_at > 0):
            problems.append(Problem(fname, f"column '{name}': measured_at = {measured_at!r} is not a positive time",
                                    "give the time after time zero at which the value is measured, in the "
                                    "study's time unit (e.g. 1.84 for 8 weeks in months), or delete it"))
            measured_at = None
        columns.append(Column(name, ctype, spec.get("label", name), tuple(str(v) for v in spec.get("levels", ())),
                              spec.get("unit", ""), spec.get("min"), spec.get("max"), spec.get("cutoff"),
                              float(measured_at) if measured_at is not None else None))

    ae = raw.get("adverse_events", {})
    adverse = tuple((e["name"], e.get("label", e["name"])) for e in ae.get("events", ()))
    grade_labels = ae.get("grade_labels", {})
    if not isinstance(grade_labels, dict) or set(grade_labels) - set(ae.get("grades", ("any",))):
        problems.append(Problem(fname, f"[adverse_events] grade_labels: {grade_labels!r} does not label the grades "
                                f"{list(ae.get('grades', ('any',)))}", 'write grade_labels = { <grade> = "<label>" }'))
        grade_labels = {}

    col_names = {c.name for c in columns} | ({head.get("arm_column"), head.get("regimen_column")} - {None})
    factors: dict[str, Factor] = {}
    for name, spec in raw.get("factors", {}).items():
        col = spec.get("column")
        if col not in col_names:
            problems.append(Problem(fname, f"factor '{name}' refers to unknown column {col!r}",
                                    "name a column declared under [columns] (or the arm column)"))
            continue
        if ("above" in spec) == ("levels" in spec):
            problems.append(Problem(fname, f"factor '{name}' needs exactly one of 'above' or 'levels'",
                                    "give a threshold (above = 60) or a list of levels"))
            continue
        factors[name] = Factor(name, spec.get("label", name), col, spec.get("above"),
                               tuple(spec.get("levels", ())))
    for c in columns:
        if c.type == "continuous" and c.cutoff is not None:
            fname_ = f"{c.name}_high"
            factors.setdefault(fname_, Factor(fname_, f"{c.label} (high vs. low, cut-off {c.cutoff:g})",
                                              c.name, above=c.cutoff))

    if problems:
        raise StudyError(problems, summary=f"{len(problems)} problem(s) in {fname}")
    return Study(
        name=head["name"], title=head.get("title", head["name"]), citation=head.get("citation", ""),
        folder=folder, time_unit=head.get("time_unit", "months"), id_column=head["id_column"],
        arm_column=head.get("arm_column") or None, regimen_column=head.get("regimen_column") or None,
        reference_arm=head.get("reference_arm", arms[0].name if arms else None), arms=arms, regimens=MappingProxyType(regimens),
        endpoints=tuple(endpoints), response=response, columns=tuple(columns), adverse_events=adverse,
        ae_grades=tuple(ae.get("grades", ("any",))), ae_total=ae.get("total"),
        factors=MappingProxyType(factors), cohort_file=head.get("cohort", "cohort.csv"),
        randomised=bool(randomised) if isinstance(randomised, bool) else False,
        ae_grade_labels=MappingProxyType({str(k): str(v) for k, v in grade_labels.items()}),
    )
