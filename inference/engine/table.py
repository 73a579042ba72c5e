"""The one output contract: a tidy comparison table.

Every comparison of a run ends as rows of this table; every report table, figure and sentence is drawn
from it. One row is either a **summary** (estimate with an interval) or a **probability** (the posterior
probability that the quantity is below/above a threshold). Columns and types:

================  ========  ===================================================================
column            type      meaning
================  ========  ===================================================================
analysis          str       analysis id from the plan (e.g. ``arm_pfs``, ``uni_pfs_age_gt65``)
title             str       human-readable title of the analysis
population        str       ``all``, ``arm:B``, ``regimen:B1``, ``marker:>400`` ...
endpoint          str       ``pfs``, ``os``, ``orr``, ``dcr``, ``CR``, an adverse event ...
contrast          str       what is compared: ``B vs A``, ``marker_high``, ``B1`` ...
quantity          str       ``hr``, ``median``, ``median_diff``, ``rmst``, ``rmst_diff``, ``rate``,
                            ``rate_diff``, ``risk_ratio``, ``odds_ratio``, ``p_value``, ``survival``
group             str       the group a per-group quantity belongs to (an arm, a regimen); "" else
source            str       ``published``, ``frequentist`` or ``bayes:<model>:<prior set>``
model             str       ``cox``, ``km``, ``logrank``, ``fisher``, a survival family (``weibull``, ``pem``, ...),
                            ``beta_binomial``, ``summary_normal``, ... ("" for published)
prior_set         str       the prior set of a Bayesian row ("" else)
estimate          float     point estimate (posterior median for Bayesian rows)
lower, upper      float     interval limits
interval          str       ``95% ETI``, ``95% CI (Wald)``, ``95% CI (log)``, ``IQR`` ...
probability       float     posterior probability (probability rows only)
threshold         float     the threshold of a probability row
direction         str       ``<`` or ``>``: probability = P(quantity direction threshold)
horizon           float     RMST horizon or survival time (months) where relevant
unit              str       ``months``, ``HR``, ``proportion`` ...
diagnostics_ok    boolean   Bayesian MCMC rows: passed the diagnostics gate; NA for others
diagnostics       str       diagnostics summary (R-hat, ESS, divergences) or problems
cohort_based      boolean   computed on the (pseudo-patient) cohort rather than published figures
registry_id       str       id of the published entry a row reproduces or is compared with
note              str       anything a reader must know (refits, not reached, audit findings)
================  ========  ===================================================================

Every producer of rows (survival, response and summary-level analyses, power-scaling, tipping points,
prior-sensitivity grids) makes them with :func:`row` or :class:`Rows` — the column names are checked
here, once — and names a Bayesian source with :func:`bayes_source` (:func:`bayes_columns` adds the
model and prior set columns that go with it).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hccbayes.atomic import write_csv

COLUMNS: dict[str, str] = {
    "analysis": "string", "title": "string", "population": "string", "endpoint": "string",
    "contrast": "string", "quantity": "string", "group": "string", "source": "string", "model": "string",
    "prior_set": "string", "estimate": "float64", "lower": "float64", "upper": "float64",
    "interval": "string", "probability": "float64", "threshold": "float64", "direction": "string",
    "horizon": "float64", "unit": "string", "diagnostics_ok": "boolean", "diagnostics": "string",
    "cohort_based": "boolean", "registry_id": "string", "note": "string",
}
SOURCES = ("published", "frequentist")  # plus "bayes:<model>:<prior set>"


def bayes_source(model: str, prior_set: str) -> str:
    """The source of a Bayesian row: ``bayes:<model>:<prior set>``."""
    return f"bayes:{model}:{prior_set}"


def bayes_columns(model: str, prior_set: str) -> dict[str, str]:
    """The source, model and prior_set columns of a Bayesian row."""
    return {"source": bayes_source(model, prior_set), "model": model, "prior_set": prior_set}


def row(**columns: Any) -> dict[str, Any]:
    """One comparison-table row: ``columns`` (names of :data:`COLUMNS`, checked) without those given as
    None (not applicable: :func:`make_table` fills them)."""
    unknown = sorted(set(columns) - set(COLUMNS))
    if unknown:
        raise ValueError(f"unknown comparison-table columns {unknown}; allowed: {list(COLUMNS)}")
    return {k: v for k, v in columns.items() if v is not None}


@dataclass
class Rows:
    """Rows that share some columns (those of one analysis, say): ``add`` makes each with :func:`row`. A shared
    ``note`` comes first in every row's note, before the row's own."""

    shared: dict[str, Any] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)

    def add(self, **columns: Any) -> None:
        note = "; ".join(filter(None, (self.shared.get("note"), columns.get("note"))))
        self.rows.append(row(**{**self.shared, **columns, **({"note": note} if note else {})}))

    def extend(self, rows: list[dict[str, Any]]) -> None:
        """Add rows made elsewhere (their own columns over the shared ones)."""
        for r in rows:
            self.add(**r)


def make_table(rows: list[dict] | pd.DataFrame) -> pd.DataFrame:
    """Rows (dicts with any subset of COLUMNS) as a typed table with every column, in order."""
    df = pd.DataFrame(rows) if not isinstance(rows, pd.DataFrame) else rows.copy()
    unknown = sorted(set(df.columns) - set(COLUMNS))
    if unknown:
        raise ValueError(f"unknown comparison-table columns {unknown}; allowed: {list(COLUMNS)}")
    for col, dtype in COLUMNS.items():
        if col not in df.columns:
            df[col] = pd.NA if dtype in ("string", "boolean") else np.nan
        df[col] = df[col].astype(dtype)
    for col, dtype in COLUMNS.items():  # strings are never missing: "" means not applicable
        if dtype == "string":
            df[col] = df[col].fillna("")
    return df[list(COLUMNS)].reset_index(drop=True)


def note_cohort_rows(rows: list[dict], note: str | None) -> list[dict]:
    """``rows`` with ``note`` appended to the note of every cohort-based row (e.g. that the cohort was
    reconstructed from published curves); the rows themselves when ``note`` is None."""
    if not note:
        return rows
    return [{**r, "note": "; ".join(filter(None, [r.get("note", ""), note]))} if r.get("cohort_based") else r
            for r in rows]


def validate_table(df: pd.DataFrame) -> list[str]:
    """Problems with a comparison table (empty list when it satisfies the contract)."""
    problems = []
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        problems.append(f"missing columns {missing}")
        return problems
    bad_source = df["source"].dropna()
    bad_source = bad_source[~bad_source.isin(SOURCES) & ~bad_source.str.startswith("bayes:")]
    if len(bad_source):
        problems.append(f"unknown sources {sorted(set(bad_source))}")
    prob = df["probability"].notna()
    if (prob & (df["threshold"].isna() | ~df["direction"].isin(["<", ">"]))).any():
        problems.append("probability rows need a threshold and a direction '<' or '>'")
    if ((df["probability"] < 0) | (df["probability"] > 1)).any():
        problems.append("probabilities outside [0, 1]")
    bayes = df["source"].str.startswith("bayes:").fillna(False)
    if (bayes & (df["prior_set"] == "")).any():
        problems.append("Bayesian rows need a prior_set")
    return problems


def write_table(df: pd.DataFrame, path: str | Path) -> Path:
    """Write the table as CSV, atomically (10 significant digits)."""
    return write_csv(make_table(df), path, float_format="%.10g")


def read_table(path: str | Path) -> pd.DataFrame:
    df = pd.read_csv(path, dtype={c: "string" for c, t in COLUMNS.items() if t == "string"},
                     keep_default_na=False, na_values={c: [""] for c, t in COLUMNS.items() if t != "string"})
    return make_table(df)
