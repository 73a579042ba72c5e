"""The cohort CSV schema of a study: which columns a cohort file must have and what each may hold.

Everything here is derived from a :class:`~hccbayes.data.study.Study`; nothing is study-specific.
:func:`cohort_schema` lists, in a stable order, the required columns

* the study id column (non-empty, unique string),
* the arm and regimen columns (one of the study's arms / regimens, regimen belonging to the arm; no
  regimen column when the study declares no ``regimen_column``),
* each endpoint's time (number > 0, finite) and event (0/1) columns,
* the response column (one of the response categories),
* every ``[columns.*]`` column (continuous: finite number within min/max; categorical: one of the
  levels; binary: 0/1) -- these baseline covariates may be missing (empty cell or NA),
* every adverse-event column ``ae_<event>_<grade>`` (0/1, never missing),

and the names of the derived factor columns (``Study.factors``: e.g. ``marker_high``, ``age_gt65``,
``treated``) that the loader adds and that a cohort file must *not* store.
"""
from __future__ import annotations

from dataclasses import dataclass

from hccbayes.data.study import Study
from hccbayes.errors import Problem, StudyError

# kinds of cohort column and the pandas dtype each becomes once validated
KINDS = ("id", "arm", "regimen", "time", "event", "response", "continuous", "categorical", "binary",
         "adverse_event")
NUMERIC_KINDS = ("time", "event", "continuous", "binary", "adverse_event")
ZERO_ONE_KINDS = ("event", "binary", "adverse_event")
CATEGORY_KINDS = ("arm", "regimen", "response", "categorical")

# cell texts read as a missing value (after stripping surrounding whitespace)
MISSING_TOKENS = frozenset({"", "NA", "N/A", "NaN", "nan", "null", "NULL", "None"})


@dataclass(frozen=True)
class ColumnSpec:
    """What one cohort column must hold."""

    name: str
    kind: str  # one of KINDS
    source: str  # where the study declares it, for messages, e.g. "[endpoints.os] time"
    levels: tuple[str, ...] = ()  # allowed values of category kinds (order = category order)
    min: float | None = None
    max: float | None = None
    missing_allowed: bool = False

    @property
    def numeric(self) -> bool:
        return self.kind in NUMERIC_KINDS

    @property
    def zero_one(self) -> bool:
        return self.kind in ZERO_ONE_KINDS

    @property
    def categorical(self) -> bool:
        return self.kind in CATEGORY_KINDS

    def describe(self) -> str:
        """What a valid value looks like, for fix messages."""
        if self.kind == "id":
            return "a non-empty patient id, unique in the file"
        if self.kind == "time":
            return "a finite number of time units > 0"
        if self.zero_one:
            return "0 or 1"
        if self.categorical:
            return "one of " + ", ".join(repr(v) for v in self.levels)
        bounds = []
        if self.min is not None:
            bounds.append(f">= {self.min:g}")
        if self.max is not None:
            bounds.append(f"<= {self.max:g}")
        return "a finite number" + (" " + " and ".join(bounds) if bounds else "")


@dataclass(frozen=True)
class CohortSchema:
    """Required columns (in order) and derived factor names of one study's cohort file."""

    study: Study
    columns: tuple[ColumnSpec, ...]
    derived: tuple[str, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def get(self, name: str) -> ColumnSpec:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        return any(c.name == name for c in self.columns)


def _arm_levels(study: Study) -> tuple[str, ...]:
    """Arm names with the reference arm first (it is the reference category)."""
    names = list(study.arm_names)
    if study.reference_arm in names:
        names.remove(study.reference_arm)
        names.insert(0, study.reference_arm)
    return tuple(names)


def cohort_schema(study: Study) -> CohortSchema:
    """The cohort schema of ``study``; a StudyError if the study's own names clash."""
    cols: list[ColumnSpec] = [
        ColumnSpec(study.id_column, "id", "[study] id_column"),
    ]
    if study.arm_column is not None:  # optional: a single-arm or biomarker-only cohort has no arms
        cols.append(ColumnSpec(study.arm_column, "arm", "[study] arm_column and [arms.*]",
                               levels=_arm_levels(study)))
    if study.regimen_column is not None:  # optional: a study may have no regimens
        cols.append(ColumnSpec(study.regimen_column, "regimen", "[study] regimen_column and [regimens]",
                               levels=tuple(study.regimens)))
    for e in study.endpoints:
        cols.append(ColumnSpec(e.time, "time", f"[endpoints.{e.name}] time"))
        cols.append(ColumnSpec(e.event, "event", f"[endpoints.{e.name}] event"))
    if study.response is not None:
        cols.append(ColumnSpec(study.response.column, "response", "[response] column",
                               levels=tuple(study.response.categories)))
    for c in study.columns:
        cols.append(ColumnSpec(c.name, c.type, f"[columns.{c.name}]", levels=tuple(c.levels),
                               min=c.min, max=c.max, missing_allowed=True))
    for name in study.ae_columns:
        cols.append(ColumnSpec(name, "adverse_event", "[adverse_events]"))

    fname = str(study.folder / "study.toml")
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for c in cols:
        if c.name in seen:
            problems.append(Problem(fname, f"cohort column '{c.name}' is declared twice ({seen[c.name]} "
                                    f"and {c.source})", "give each cohort column its own name"))
        seen.setdefault(c.name, c.source)
    for name, factor in study.factors.items():
        # a factor may share its name with its own binary column (surgery = surgery == 1)
        if name in seen and factor.column != name:
            problems.append(Problem(fname, f"factor '{name}' has the name of cohort column '{name}' "
                                    f"({seen[name]}) but is derived from '{factor.column}'",
                                    "rename the factor"))
    if problems:
        raise StudyError(problems, summary=f"{len(problems)} problem(s) in {fname}")
    derived = tuple(n for n in study.factors if n not in seen)
    return CohortSchema(study, tuple(cols), derived)
