"""The prior of every term, for the report's Methods and forest plots, read from the comparison table.

Every Bayesian hazard-ratio row of a fit names its term's prior in its note ("prior: log HR ~ Normal(0, 0.5605)
(prognostic, shrinkage)", :func:`hccbayes.inference.engine.rows_survival.prior_text`). Terms whose priors agree
under every prior set are one row of the Methods table: by construction (:mod:`hccbayes.models.priors.roles`)
that is one row per role — the treatment contrasts, the prognostic terms, each hypothesised direction.
"""
from __future__ import annotations

import pandas as pd

PREFIX = "prior: log HR ~ "


def prior_of(note: str) -> str:
    """The prior named in a row's note ("Normal(0, 1) (prognostic)"), or ""."""
    for part in str(note).split("; "):
        if part.startswith(PREFIX):
            return part[len(PREFIX):]
    return ""


def rate_prior_frame(table: pd.DataFrame) -> pd.DataFrame:
    """The priors of the response-rate comparisons, one row per set of comparisons that share them under every
    prior set (the arm comparisons, the others), from the rate-difference rows' notes ("prior: ...")."""
    rows = table[table["source"].str.startswith("bayes:") & (table["quantity"] == "rate_diff")
                 & table["probability"].isna()]
    by: dict[str, dict[str, str]] = {}
    for r in rows[["contrast", "prior_set", "note"]].itertuples(index=False):
        prior = next((p[len("prior: "):] for p in str(r.note).split("; ") if p.startswith("prior: ")), "")
        if prior:
            by.setdefault(r.contrast, {}).setdefault(r.prior_set, prior)
    return _grouped(by, "Comparisons")


def _grouped(by: dict[str, dict[str, str]], label: str) -> pd.DataFrame:
    sets = list(dict.fromkeys(s for p in by.values() for s in p))
    groups: dict[tuple, list[str]] = {}
    for name, by_set in by.items():
        groups.setdefault(tuple(by_set.get(s, "") for s in sets), []).append(name)
    return pd.DataFrame([{label: ", ".join(names), **{s.replace("_", " "): p for s, p in zip(sets, key)}}
                         for key, names in groups.items()])


def term_priors(table: pd.DataFrame, cohort_based: bool = True) -> dict[str, dict[str, str]]:
    """contrast -> {prior set -> prior} of the HR summary rows (``cohort_based``: the model fits; else the
    summary-level re-analysis); contrasts keep the table's order."""
    rows = table[table["source"].str.startswith("bayes:") & (table["quantity"] == "hr") & table["probability"].isna()
                 & (table["cohort_based"] == cohort_based)]
    out: dict[str, dict[str, str]] = {}
    for r in rows[["contrast", "prior_set", "note"]].itertuples(index=False):
        prior = prior_of(r.note)
        if prior:
            out.setdefault(r.contrast, {}).setdefault(r.prior_set, prior)
    return out


def term_prior_frame(table: pd.DataFrame) -> pd.DataFrame:
    """One row per set of terms that share their prior under every prior set: the terms, then one column per
    prior set (table order) with the prior and its reason."""
    return _grouped(term_priors(table), "Terms")
