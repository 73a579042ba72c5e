"""Cohort CSV files: read, validate against a study, and derive the model factors.

:func:`validate_cohort` returns every problem of a cohort file at once (file-level, header, cell and
cross-column problems), each an :class:`~hccbayes.errors.Problem` naming the file, the row, the column
and a fix; it never raises for a data problem. :func:`load_cohort` raises
:class:`~hccbayes.errors.CohortError` with that list, or returns the typed DataFrame.

Conventions (decided here, relied on by the rest of the toolkit):

* **Row numbers** are 1-based *data* rows: the header is not counted, so data row ``r`` is line
  ``r + 1`` of the file (and row ``r + 1`` of a spreadsheet) when no cell holds a line break.
  Blank lines (or lines of empty cells) are skipped but keep their number.
* **Format**: UTF-8 (a byte-order mark is accepted), comma-delimited, first line the header; cells are
  stripped of surrounding whitespace; ``""``, ``NA``, ``N/A``, ``NaN``, ``nan``, ``null``, ``NULL`` and
  ``None`` are read as missing (see :data:`hccbayes.data.schema.MISSING_TOKENS`).
* **Missing values** are errors in the id, arm, regimen, survival time/event, response and
  adverse-event columns. In the baseline ``[columns.*]`` covariates (biomarkers, stage, ...) they are
  allowed and logged as a warning; the factors derived from them are then missing too.
* **Extra columns** not declared by the study are allowed, kept as strings and logged as a warning;
  but a column named like a derived factor (``age_high``, ``treated``...) is an error: factors are
  always derived from the study's cut-offs and levels, never stored.
* **Types** of the returned frame: id ``str``; arm, regimen, response and categorical covariates
  ``category`` with the study's levels (reference first; the reference arm first); times and
  continuous covariates ``float64``; events, binary covariates and adverse events ``int64`` (a binary
  covariate with missing values is ``float64`` with NaN); one derived 0/1 column per study factor,
  named as the factor (``int64``, or ``float64`` with NaN where its source is missing).
"""
from __future__ import annotations

import csv
import io
import logging
from pathlib import Path

import pandas as pd

from hccbayes.data.schema import CohortSchema, cohort_schema
from hccbayes.data.study import Study, load_study
from hccbayes.data.validation import check_cells, check_rows
from hccbayes.errors import CohortError, Problem

log = logging.getLogger(__name__)

__all__ = ["load_cohort", "read_cohort_text", "validate_cohort"]

_OTHER_DELIMITERS = {";": "semicolon", "\t": "tab", "|": "vertical bar"}


def _as_study(study: Study | str | Path | None) -> Study:
    return study if isinstance(study, Study) else load_study(study)


def read_cohort_text(path: str | Path) -> tuple[str | None, list[Problem]]:
    """The file's text, or None and the file-level problems (missing, unreadable, empty, not UTF-8)."""
    fname = str(path)
    p = Path(path)
    if not p.exists():
        return None, [Problem(fname, "file not found", "check the path (relative paths are taken from "
                              "the current directory)")]
    if not p.is_file():
        return None, [Problem(fname, "not a file", "give the path of a cohort CSV file")]
    try:
        data = p.read_bytes()
    except OSError as err:
        return None, [Problem(fname, f"cannot be read: {err.strerror or err}", "check the file's permissions")]
    if not data.strip():
        return None, [Problem(fname, "file is empty", "write the header line and one line per patient")]
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        row = line - 1 if line > 1 else None
        where = f"line {line}" + (f" (data row {row})" if row else " (the header)")
        bad = data[err.start: err.start + 1].hex().upper()
        return None, [Problem(fname, f"not UTF-8 text: byte 0x{bad} on {where} cannot be decoded",
                              "save the file as UTF-8 (e.g. 'CSV UTF-8' in a spreadsheet, or "
                              "iconv -f latin1 -t utf-8)", row=row)]


def _wrong_delimiter(fname: str, header_line: str, schema: CohortSchema) -> Problem | None:
    """One problem if the header is separated by something other than commas."""
    n_comma = header_line.count(",")
    for delim, label in _OTHER_DELIMITERS.items():
        n_other = header_line.count(delim)
        if n_other > n_comma:
            fields = [f.strip().strip('"') for f in header_line.split(delim)]
            known = sum(f in schema for f in fields)
            return Problem(fname, f"wrong delimiter: the header is separated by {label}s "
                           f"({n_other + 1} fields, {known} of them study columns), not commas",
                           "save the file comma-separated (in a spreadsheet: 'CSV (comma delimited)'; "
                           f"in pandas: df.to_csv(path, sep=','))")
    return None


def _parse(text: str, fname: str, schema: CohortSchema
           ) -> tuple[list[str], list[tuple[int, list[str]]], list[Problem]]:
    """Header, (row number, cells) of each non-blank data record, and structural problems."""
    problems: list[Problem] = []
    header_line = text.splitlines()[0] if text else ""
    if (p := _wrong_delimiter(fname, header_line, schema)) is not None:
        return [], [], [p]
    try:
        records = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as err:
        return [], [], [Problem(fname, f"not a readable CSV file: {err}",
                                "check quoting: every opening double quote needs a closing one")]
    # the header is the first non-blank record
    while records and not any(c.strip() for c in records[0]):
        records.pop(0)
    header = [h.strip() for h in records[0]]
    rows: list[tuple[int, list[str]]] = []
    for r, cells in enumerate(records[1:], start=1):
        if not any(c.strip() for c in cells):
            continue  # blank line: skipped, keeps its row number
        if len(cells) != len(header):
            problems.append(Problem(fname, f"row has {len(cells)} values but the header has {len(header)} "
                                    "columns", "give every row one value per header column (quote "
                                    "values that contain commas)", row=r))
            continue
        rows.append((r, [c.strip() for c in cells]))
    return header, rows, problems


def _check_header(header: list[str], fname: str, schema: CohortSchema) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, name in enumerate(header, start=1):
        if not name:
            problems.append(Problem(fname, f"header field {i} is empty (an unnamed column)",
                                    "name the column, or delete it (often a trailing comma)"))
        elif name in seen:
            problems.append(Problem(fname, f"column name '{name}' appears more than once in the header",
                                    "keep one column of that name", column=name))
        seen.add(name)
    for spec in schema.columns:
        if spec.name not in seen:
            problems.append(Problem(fname, f"required column '{spec.name}' is missing from the header "
                                    f"(declared by {spec.source})",
                                    f"add a column '{spec.name}' holding {spec.describe()}",
                                    column=spec.name))
    study = schema.study
    for name in schema.derived:
        if name in seen:
            f = study.factors[name]
            rule = f"{f.column} > {f.above:g}" if f.above is not None else \
                f"{f.column} in {list(f.levels)}"
            problems.append(Problem(fname, f"column '{name}' is a derived factor ({rule}) and must not be "
                                    "stored: factors are derived from the study's cut-offs and levels",
                                    f"delete the column '{name}'", column=name))
    extra = [h for h in dict.fromkeys(header) if h and h not in schema and h not in schema.derived]
    if extra:
        log.warning("%s: %d column(s) not declared by study '%s' are kept as text: %s",
                    fname, len(extra), study.name, ", ".join(extra))
    return problems


def _frame(header: list[str], rows: list[tuple[int, list[str]]]) -> tuple[pd.DataFrame, list[int]]:
    """Raw string DataFrame (first occurrence of each column name) and the data-row numbers."""
    first = {}
    for i, h in enumerate(header):
        if h:
            first.setdefault(h, i)
    data = {h: pd.Series([cells[i] for _, cells in rows], dtype="str") for h, i in first.items()}
    return pd.DataFrame(data), [r for r, _ in rows]


def _check(path: str | Path, study: Study) -> tuple[list[Problem], pd.DataFrame | None]:
    """All problems of the file, and the typed frame when there are none."""
    fname = str(path)
    schema = cohort_schema(study)
    text, problems = read_cohort_text(path)
    if text is None:
        return problems, None
    header, rows, problems = _parse(text, fname, schema)
    if not header:
        return problems, None
    problems += _check_header(header, fname, schema)
    if not rows:
        if not any(p.row is not None for p in problems):  # else: rows of the wrong length, reported
            problems.append(Problem(fname, "no patients: the file has a header but no data rows",
                                    "add one line per patient below the header"))
        return problems, None
    raw, row_numbers = _frame(header, rows)
    typed, cell_problems = check_cells(raw, row_numbers, fname, schema)
    problems += cell_problems
    problems += check_rows(typed, row_numbers, fname, schema)
    problems.sort(key=lambda p: (p.row is not None, p.row or 0))
    if problems:
        return problems, None
    return [], _derive(typed, schema, fname)


def _derive(df: pd.DataFrame, schema: CohortSchema, fname: str) -> pd.DataFrame:
    """Add one 0/1 column per study factor and log missing covariates."""
    for spec in schema.columns:
        if spec.missing_allowed and (n := int(df[spec.name].isna().sum())):
            log.warning("%s: %d of %d patients have no value in column '%s'; factors derived from it are "
                        "missing for them", fname, n, len(df), spec.name)
    for name, factor in schema.study.factors.items():
        source = df[factor.column]
        if factor.column in schema and schema.get(factor.column).kind == "binary":
            source = source.astype("Int64")  # "1", not "1.0", when compared with the levels
        ind = factor.indicator(source)
        ind.index = df.index
        df[name] = ind.astype("int64") if not ind.isna().any() else ind.astype("float64")
    return df


def validate_cohort(path: str | Path, study: Study | str | Path | None = None) -> list[Problem]:
    """Every problem of the cohort file at ``path`` under ``study`` (default: the default bundled study);
    ``[]`` if it is valid.

    Never raises for a problem in the data (a missing or unreadable file is a problem too); a study
    that cannot be loaded raises :class:`~hccbayes.errors.StudyError`. Rows are 1-based data rows,
    the header excluded.
    """
    problems, _ = _check(path, _as_study(study))
    return problems


def load_cohort(path: str | Path, study: Study | str | Path | None = None) -> pd.DataFrame:
    """The validated, typed cohort with one derived 0/1 column per study factor (``study`` default: the
    default bundled study, :func:`hccbayes.data.study.default_study`).

    Raises :class:`~hccbayes.errors.CohortError` listing every problem (see :func:`validate_cohort`).
    """
    study = _as_study(study)
    problems, df = _check(path, study)
    if problems:
        n = len(problems)
        raise CohortError(problems, summary=f"{n} problem{'s' if n != 1 else ''} in cohort file {path} "
                          f"(study '{study.name}'; rows are data rows, header excluded)")
    assert df is not None
    log.info("%s: %d patients loaded for study '%s'", path, len(df), study.name)
    return df
