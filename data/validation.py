"""Cell and cross-column checks of a cohort file (used by :mod:`hccbayes.data.cohort`).

:func:`check_cells` types every schema column of a raw (all-string) frame and reports each invalid
cell; an invalid cell becomes missing in the typed frame, so :func:`check_rows` (duplicate ids, regimen
vs. arm, endpoint implications, adverse-event grades) only judges values that are valid on their own
and never reports the same cell twice. Row numbers are 1-based data rows (header excluded).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from hccbayes.data.schema import MISSING_TOKENS, CohortSchema, ColumnSpec
from hccbayes.errors import Problem

__all__ = ["check_cells", "check_rows"]


def _fmt(x: float) -> str:
    return f"{x:g}" if math.isfinite(x) else str(x)


def _category(raw: pd.Series, spec: ColumnSpec, rows: list[int], fname: str
              ) -> tuple[pd.Series, list[Problem]]:
    problems: list[Problem] = []
    missing = raw.isin(MISSING_TOKENS)
    levels = list(spec.levels)
    lower = {lv.lower(): lv for lv in levels}
    for i, value in enumerate(raw):
        if missing.iat[i]:
            if not spec.missing_allowed:
                problems.append(Problem(fname, f"missing value in required column '{spec.name}'",
                                        f"fill in {spec.describe()}", row=rows[i], column=spec.name))
        elif value not in levels:
            hint = lower.get(value.lower())
            fix = (f"write '{hint}' (values are case-sensitive)" if hint else
                   f"use {spec.describe()} (declared by {spec.source} in study.toml)")
            problems.append(Problem(fname, f"unknown {spec.kind} value '{value}'", fix,
                                    row=rows[i], column=spec.name))
    values = raw.where(~missing & raw.isin(levels))
    return pd.Series(pd.Categorical(values, categories=levels), index=raw.index), problems


def _number(raw: pd.Series, spec: ColumnSpec, rows: list[int], fname: str
            ) -> tuple[pd.Series, list[Problem]]:
    problems: list[Problem] = []
    missing = raw.isin(MISSING_TOKENS)
    num = pd.to_numeric(raw.where(~missing), errors="coerce").astype("float64")
    ok = pd.Series(True, index=raw.index)
    col = spec.name
    for i, value in enumerate(raw):
        row = rows[i]
        x = num.iat[i]
        msg = None
        if missing.iat[i]:
            ok.iat[i] = False
            if not spec.missing_allowed:
                what = "survival time/event" if spec.kind in ("time", "event") else spec.kind.replace("_", " ")
                problems.append(Problem(fname, f"missing value ('{value}') in required {what} column "
                                        f"'{col}'", f"fill in {spec.describe()}", row=row, column=col))
            continue
        if np.isnan(x):
            msg = f"'{value}' is not a number"
        elif not math.isfinite(x):
            msg = f"value {value} is infinite"
        elif spec.kind == "time" and x <= 0:
            msg = f"time {_fmt(x)} is not > 0"
        elif spec.zero_one and x not in (0.0, 1.0):
            msg = f"value {value} is not 0 or 1"
        elif spec.min is not None and x < spec.min:
            msg = f"value {_fmt(x)} is below the study minimum {spec.min:g}"
        elif spec.max is not None and x > spec.max:
            msg = f"value {_fmt(x)} is above the study maximum {spec.max:g}"
        if msg:
            ok.iat[i] = False
            problems.append(Problem(fname, msg, f"write {spec.describe()} (declared by {spec.source} in "
                                    "study.toml)", row=row, column=col))
    problems += _implausible(num.where(ok), spec, rows, fname)
    out = num.where(ok)
    if spec.zero_one and not out.isna().any():
        out = out.astype("int64")
    return out, problems


IMPLAUSIBLE_FACTOR = 1000.0  # a time or measurement this many times its column's usual largest is a slip


def _implausible(num: pd.Series, spec: ColumnSpec, rows: list[int], fname: str) -> list[Problem]:
    """Finite values orders of magnitude beyond the rest of their column (a time of 1e300, a value typed in
    the wrong unit): more than :data:`IMPLAUSIBLE_FACTOR` times the 95th percentile of the column's absolute
    values. Only for times and for continuous columns without a declared maximum (a declared ``max`` is the
    study's own plausibility limit, checked above)."""
    if spec.kind not in ("time", "continuous") or spec.max is not None or spec.zero_one:
        return []
    x = num.dropna().abs()
    if len(x) < 5:
        return []
    typical = float(np.quantile(x, 0.95))
    if typical <= 0:
        return []
    where = "time" if spec.kind == "time" else "value"
    return [Problem(fname, f"{where} {_fmt(num.iat[i])} is over {IMPLAUSIBLE_FACTOR:g} times the column's 95th "
                    f"percentile ({_fmt(typical)}): a slip or another unit?",
                    "correct the value" + ("" if spec.kind == "time" else
                                           f", or declare max = ... under [columns.{spec.name}] in study.toml "
                                           "if such values are real"), row=rows[i], column=spec.name)
            for i in np.flatnonzero((num.abs() > IMPLAUSIBLE_FACTOR * typical).to_numpy())]


def check_cells(raw: pd.DataFrame, rows: list[int], fname: str, schema: CohortSchema
                ) -> tuple[pd.DataFrame, list[Problem]]:
    """Typed copy of ``raw`` (invalid cells missing) and one problem per invalid cell."""
    typed = raw.copy()
    problems: list[Problem] = []
    for spec in schema.columns:
        if spec.name not in raw:
            continue  # reported as a missing column
        col = raw[spec.name]
        if spec.kind == "id":
            empty = col.isin(MISSING_TOKENS)
            for i in np.flatnonzero(empty.to_numpy()):
                problems.append(Problem(fname, f"empty patient id ('{col.iat[i]}')",
                                        "give every patient a non-empty, unique id",
                                        row=rows[i], column=spec.name))
            typed[spec.name] = col.where(~empty).astype("str")
        elif spec.categorical:
            typed[spec.name], found = _category(col, spec, rows, fname)
            problems += found
        else:
            typed[spec.name], found = _number(col, spec, rows, fname)
            problems += found
    return typed, problems


def _valid(df: pd.DataFrame, *names: str) -> pd.Series:
    """Rows where all the named columns exist and hold a valid value."""
    mask = pd.Series(True, index=df.index)
    for n in names:
        if n not in df:
            return pd.Series(False, index=df.index)
        mask &= df[n].notna()
    return mask


def _check_ids(df: pd.DataFrame, rows: list[int], fname: str, schema: CohortSchema) -> list[Problem]:
    idc = schema.study.id_column
    problems: list[Problem] = []
    if idc not in df:
        return problems
    first: dict[str, int] = {}
    for i, value in enumerate(df[idc]):
        if pd.isna(value):
            continue
        if value in first:
            problems.append(Problem(fname, f"duplicated patient id '{value}' (first used on row {first[value]})",
                                    "give every patient a unique id", row=rows[i], column=idc))
        else:
            first[value] = rows[i]
    return problems


def _check_regimens(df: pd.DataFrame, rows: list[int], fname: str, schema: CohortSchema) -> list[Problem]:
    study = schema.study
    arm_c, reg_c = study.arm_column, study.regimen_column
    problems: list[Problem] = []
    if reg_c is None:
        return problems
    ok = _valid(df, arm_c, reg_c)
    for i in np.flatnonzero(ok.to_numpy()):
        arm, reg = str(df[arm_c].iat[i]), str(df[reg_c].iat[i])
        owner = study.arm_of_regimen(reg)
        if owner != arm:
            allowed = ", ".join(study.arm(arm).regimens)
            problems.append(Problem(fname, f"regimen '{reg}' belongs to arm '{owner}' but the patient's arm "
                                    f"is '{arm}'", f"set {arm_c} to '{owner}', or {reg_c} to one of "
                                    f"{allowed}", row=rows[i], column=reg_c))
    return problems


def _check_endpoints(df: pd.DataFrame, rows: list[int], fname: str, schema: CohortSchema) -> list[Problem]:
    """An endpoint that ``implies`` another: its event is also the other's event, at a time not later."""
    study = schema.study
    names = {e.name for e in study.endpoints}
    problems: list[Problem] = []
    for e in study.endpoints:
        if not e.implies or e.implies not in names:
            continue
        f = study.endpoint(e.implies)
        ok = _valid(df, e.time, f.time)
        bad = ok & (df.get(f.time, 0) > df.get(e.time, 0))
        for i in np.flatnonzero(bad.to_numpy()):
            problems.append(Problem(fname, f"{f.name} time {_fmt(df[f.time].iat[i])} exceeds {e.name} time "
                                    f"{_fmt(df[e.time].iat[i])} ({f.time} must be <= {e.time})",
                                    f"correct {f.time} or {e.time}; a patient without {f.event_label} is "
                                    f"censored for {f.name} at the last follow-up", row=rows[i],
                                    column=f.time))
        ok = _valid(df, e.event, f.event)
        bad = ok & (df.get(e.event, 0) == 1) & (df.get(f.event, 0) == 0)
        for i in np.flatnonzero(bad.to_numpy()):
            problems.append(Problem(fname, f"{e.event_label} ({e.event} = 1) without a {f.name} event "
                                    f"({f.event} = 0): a {e.event_label} is also a {f.name} event",
                                    f"set {f.event} to 1 (or correct {e.event})", row=rows[i],
                                    column=f.event))
    return problems


def _check_adverse_events(df: pd.DataFrame, rows: list[int], fname: str, schema: CohortSchema
                          ) -> list[Problem]:
    """A higher grade implies the 'any' grade; any specific event implies the total at that grade."""
    study = schema.study
    problems: list[Problem] = []
    if not study.adverse_events:
        return problems
    col = study.ae_column
    pairs: list[tuple[str, str, str]] = []  # (column that is 1, column that must then be 1, why)
    if "any" in study.ae_grades:
        for event, label in study.adverse_events:
            for g in study.ae_grades:
                if g != "any":
                    pairs.append((col(event, g), col(event, "any"),
                                  f"{label} at grade {g} is also {label} at any grade"))
    total = study.ae_total
    if total:
        for event, label in study.adverse_events:
            if event != total:
                for g in study.ae_grades:
                    pairs.append((col(event, g), col(total, g),
                                  f"a patient with {label} ({g}) has an adverse event ({g})"))
    for src, dst, why in pairs:
        ok = _valid(df, src, dst)
        bad = ok & (df.get(src, 0) == 1) & (df.get(dst, 0) == 0)
        for i in np.flatnonzero(bad.to_numpy()):
            problems.append(Problem(fname, f"{src} = 1 but {dst} = 0: {why}",
                                    f"set {dst} to 1 (or {src} to 0)", row=rows[i], column=dst))
    return problems


def check_rows(df: pd.DataFrame, rows: list[int], fname: str, schema: CohortSchema) -> list[Problem]:
    """Cross-column problems of the typed frame (only valid cells are compared)."""
    return (_check_ids(df, rows, fname, schema) + _check_regimens(df, rows, fname, schema)
            + _check_endpoints(df, rows, fname, schema) + _check_adverse_events(df, rows, fname, schema))
