"""A new study folder from a cohort CSV: ``study.toml`` with every column's type guessed (and marked for
review), a starter ``plan.toml``, and the CSV copied in as ``cohort.csv``. Used by ``hccbayes init``.

Guesses, each written into study.toml with a ``# REVIEW`` comment that says what was seen:

* a column whose values are all 0/1 is ``binary``; any other all-numeric column is ``continuous``, with the
  observed minimum and maximum as hints for the reader (not as limits: limits are for the user to set);
* a text column with at most :data:`MAX_LEVELS` distinct values is ``categorical``, levels ordered by
  frequency (most frequent first = the reference level, which the user should check); more distinct
  values and it is left out (an identifier or free text) and said;
* every binary and categorical column gets factors (one per non-reference level) that plans can use as
  terms; continuous columns can be used as terms per standard deviation (``continuous = [...]``).

The plan compares the arms (each non-reference arm against the reference arm) for every endpoint with the
Weibull and piecewise-exponential models under the five named prior sets, with an RMST horizon below the
shortest follow-up of any arm (rounded down to two significant digits).
"""
from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from hccbayes.atomic import write_bytes, write_csv, write_text
from hccbayes.data.schema import MISSING_TOKENS
from hccbayes.data.study import load_study
from hccbayes.errors import InputError, Problem

log = logging.getLogger(__name__)

MAX_LEVELS = 12  # text columns with more distinct values are not guessed as categorical
TIME_UNITS = ("days", "weeks", "months", "years")


@dataclass(frozen=True)
class EndpointSpec:
    name: str
    time: str
    event: str


class ScaffoldError(InputError):
    """The CSV or the named columns cannot make a study folder."""


def parse_endpoint(text: str) -> EndpointSpec:
    """``NAME:TIME_COLUMN:EVENT_COLUMN`` (e.g. ``os:os_days:death``)."""
    parts = text.split(":")
    if len(parts) != 3 or not all(parts):
        raise ScaffoldError(Problem("--endpoint", f"{text!r} is not NAME:TIME_COLUMN:EVENT_COLUMN",
                                    "write e.g. --endpoint os:os_days:os_event"))
    return EndpointSpec(*parts)


def _key(name: str) -> str:
    """A TOML bare key / identifier made from a level or column name."""
    key = re.sub(r"[^0-9A-Za-z]+", "_", str(name)).strip("_").lower()
    return key if key and not key[0].isdigit() else f"x{key}"


def _quote(value) -> str:
    return json.dumps(str(value), ensure_ascii=False)


def _read(csv: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(csv, dtype=str, keep_default_na=False, skipinitialspace=True)
    except FileNotFoundError:
        raise ScaffoldError(Problem(str(csv), "file not found", "check the path of the cohort CSV")) from None
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as err:
        raise ScaffoldError(Problem(str(csv), f"cannot be read as CSV ({err})",
                                    "save it as comma-separated UTF-8 text with a header line")) from None


def _values(series: pd.Series) -> pd.Series:
    s = series.str.strip()
    return s[~s.isin(MISSING_TOKENS)]


def _numeric(values: pd.Series) -> pd.Series | None:
    num = pd.to_numeric(values, errors="coerce")
    return num if num.notna().all() else None


def _check_columns(df: pd.DataFrame, csv: Path, needed: dict[str, str]) -> None:
    problems = [Problem(str(csv), f"has no column {col!r} (given as {what})",
                        f"use one of the header's columns: {', '.join(df.columns[:12])}")
                for what, col in needed.items() if col not in df.columns]
    if problems:
        raise ScaffoldError(problems, summary=f"{len(problems)} named column(s) not in {csv}")


def _column_block(name: str, values: pd.Series, n: int) -> tuple[str, list[str]]:
    """The [columns.<name>] TOML block of one covariate and its factor names, or ('', []) if skipped."""
    missing = n - len(values)
    seen = f"{len(values)} values" + (f", {missing} missing" if missing else "")
    num = _numeric(values)
    if num is not None and len(values) and set(num.unique()) <= {0.0, 1.0}:
        fac = _key(name)
        block = (f"[columns.{name}]\ntype = \"binary\"   # REVIEW: guessed from 0/1 values ({seen})\n"
                 f"label = {_quote(name)}\n\n[factors.{fac}]\nlabel = {_quote(name + ' (1 vs 0)')}\n"
                 f"column = {_quote(name)}\nlevels = [1]\n")
        return block, [fac]
    if num is not None and len(values):
        lo, hi = float(num.min()), float(num.max())
        return (f"[columns.{name}]\ntype = \"continuous\"   # REVIEW: guessed from numbers ({seen}; observed "
                f"{lo:g} to {hi:g}); set min/max limits or a cutoff if you want them\nlabel = {_quote(name)}\n"), []
    counts = values.value_counts()
    if 0 < len(counts) <= MAX_LEVELS:
        levels = list(counts.index)  # most frequent first: the reference level
        facs = [f"{_key(name)}_{_key(level)}" for level in levels[1:]]
        block = (f"[columns.{name}]\ntype = \"categorical\"   # REVIEW: guessed from {len(levels)} text values "
                 f"({seen}); the first level is the reference\nlabel = {_quote(name)}\n"
                 f"levels = [{', '.join(_quote(v) for v in levels)}]\n")
        for fac, level in zip(facs, levels[1:]):
            block += (f"\n[factors.{fac}]\nlabel = {_quote(f'{name}: {level} vs {levels[0]}')}\n"
                      f"column = {_quote(name)}\nlevels = [{_quote(level)}]\n")
        return block, facs
    log.warning("column %r left out of study.toml: %d distinct text values (an identifier or free text?)",
                name, len(counts))
    return f"# column {name!r} left out: {len(counts)} distinct text values (an identifier or free text?)\n", []


def _horizon(df: pd.DataFrame, endpoints: list[EndpointSpec], arm: str | None) -> float:
    """The shortest last follow-up of any arm over all endpoints, rounded down to two significant digits."""
    ends = []
    for ep in endpoints:
        t = pd.to_numeric(df[ep.time], errors="coerce")
        ends += list(t.groupby(df[arm]).max()) if arm else [t.max()]
    end = float(min(ends))
    unit = 10.0 ** (math.floor(math.log10(end)) - 1) if end > 0 else 1.0
    return math.floor(end / unit) * unit


def study_toml(df: pd.DataFrame, name: str, endpoints: list[EndpointSpec], time_unit: str, id_column: str,
               arm: str | None, reference_arm: str | None) -> tuple[str, dict[str, str]]:
    """The text of study.toml and the arm factors (arm level -> factor name)."""
    lines = [f"# Study {name}: scaffolded by `hccbayes init` from a cohort CSV. Every guess is marked REVIEW;",
             "# check them (types, reference levels, labels) before running a plan.", "",
             "[study]", f"name = {_quote(name)}", f"title = {_quote(name)}",
             f"time_unit = {_quote(time_unit)}", f"id_column = {_quote(id_column)}",
             "randomised = false   # REVIEW: true only if the arms were assigned at random (sets the wording)"]
    arm_factors: dict[str, str] = {}
    arms_block = ""
    if arm:
        levels = list(_values(df[arm]).value_counts().index)
        ref = reference_arm or levels[0]
        if ref not in levels:
            raise ScaffoldError(Problem("--reference-arm", f"{ref!r} is not a value of column {arm!r}",
                                        f"use one of {', '.join(levels)}"))
        ordered = [ref] + [lv for lv in levels if lv != ref]
        lines += [f"arm_column = {_quote(arm)}",
                  f"reference_arm = {_quote(ref)}" + ("" if reference_arm else
                                                       "   # REVIEW: the most frequent arm; set the control arm")]
        for lv in ordered:
            arms_block += f"\n[arms.{_quote(lv)}]\nlabel = {_quote(lv)}\n"
        for lv in ordered[1:]:
            arm_factors[lv] = _key(f"{arm}_{lv}")
            arms_block += (f"\n[factors.{arm_factors[lv]}]\nlabel = {_quote(f'{lv} vs {ref}')}\n"
                           f"column = {_quote(arm)}\nlevels = [{_quote(lv)}]\n")
    lines += ['cohort = "cohort.csv"', arms_block]
    for ep in endpoints:
        lines += [f"[endpoints.{ep.name}]", f"label = {_quote(ep.name)}   # REVIEW: a readable name",
                  f"time = {_quote(ep.time)}", f"event = {_quote(ep.event)}", ""]
    used = {id_column, arm} | {c for ep in endpoints for c in (ep.time, ep.event)}
    for col in df.columns:
        if col not in used:
            block, _ = _column_block(col, _values(df[col]), len(df))
            lines.append(block)
    return "\n".join(lines).rstrip() + "\n", arm_factors


def plan_toml(name: str, endpoints: list[EndpointSpec], arm_factors: dict[str, str], horizon: float,
              time_unit: str) -> str:
    """A starter plan: the arm contrasts for every endpoint (or, without arms, a note what to add)."""
    out = [f"# Starter plan of study {name} (`hccbayes init`). Format: inference/engine/plan.py.",
           f"#   hccbayes run {name}/plan.toml --out runs/{name} [--quick]", "",
           "[plan]", f"name = {_quote(name)}", 'study = "."', "seed = 1", "",
           "[defaults]",
           'prior_sets = ["vague", "weakly_informative", "skeptical", "enthusiastic", "pessimistic"]',
           'quick_prior_set = "weakly_informative"', 'models = ["weibull", "pem"]',
           f"horizon = {horizon:g}   # RMST horizon ({time_unit}): below the shortest follow-up of any arm",
           "mcid = 0.7   # REVIEW: the minimal clinically important hazard ratio of your field",
           "thresholds = { hr = [1.0, 0.7], median_diff = [0.0], rmst_diff = [0.0] }", ""]
    if not arm_factors:
        out.append("# no arm column was named: add analyses of your covariates, e.g. terms = [\"<factor>\"]")
    for ep in endpoints:
        if arm_factors:
            out += ["[[analyses]]", f'id = "arm_{ep.name}"', 'kind = "survival"',
                    f"title = {_quote(f'{ep.name} by arm')}", f"endpoint = {_quote(ep.name)}",
                    f"terms = [{', '.join(_quote(f) for f in arm_factors.values())}]",
                    'strata = "arm"', "link = []", ""]
    return "\n".join(out).rstrip() + "\n"


def scaffold(csv: str | Path, out: str | Path, endpoints: list[EndpointSpec], *, arm: str | None = None,
             reference_arm: str | None = None, id_column: str | None = None, time_unit: str = "days",
             name: str | None = None) -> Path:
    """Write a study folder ``out`` (study.toml, plan.toml, cohort.csv) from ``csv``; returns ``out``.

    ``id_column`` defaults to a column named ``id`` (any case) or, without one, a new ``id`` column of row
    numbers is added to the copied cohort. Refuses an ``out`` that exists and is not empty."""
    csv, out = Path(csv), Path(out)
    if time_unit not in TIME_UNITS:
        raise ScaffoldError(Problem("--time-unit", f"{time_unit!r} is not a time unit",
                                    f"use one of {', '.join(TIME_UNITS)}"))
    if not endpoints:
        raise ScaffoldError(Problem("--endpoint", "no endpoint given", "name its time and event columns"))
    if out.exists() and any(out.iterdir()):
        raise ScaffoldError(Problem(str(out), "exists and is not empty", "choose a new folder with --out"))
    df = _read(csv)
    needed = {f"--endpoint {ep.name} time": ep.time for ep in endpoints}
    needed.update({f"--endpoint {ep.name} event": ep.event for ep in endpoints})
    if arm:
        needed["--arm"] = arm
    if id_column:
        needed["--id"] = id_column
    _check_columns(df, csv, needed)
    if id_column is None:
        id_column = next((c for c in df.columns if c.lower() == "id"), None)
    name = name or _key(out.name)
    text, arm_factors = study_toml(df, name, endpoints, time_unit, id_column or "id", arm, reference_arm)
    if id_column is None:  # no identifier in the file: number the rows
        df.insert(0, "id", [f"P{i + 1}" for i in range(len(df))])
        write_csv(df, out / "cohort.csv")
    else:
        write_bytes(out / "cohort.csv", csv.read_bytes())
    write_text(out / "study.toml", text)
    write_text(out / "plan.toml", plan_toml(name, endpoints, arm_factors, _horizon(df, endpoints, arm), time_unit))
    load_study(out)  # the scaffold must at least be a readable study
    log.info("wrote study folder %s (study.toml, plan.toml, cohort.csv)", out)
    return out
