"""Variable selection of multivariable survival analyses, said as it is.

A multivariable model's terms come from one of two places, and the plan says which (``selection``):

* ``published`` — the term list the paper printed (its multivariable columns), given as ``terms``. With
  ``candidates`` the run also applies the selection rule to the cohort, so the report can show both lists
  where they differ (a reconstructed cohort need not reproduce the paper's screening, and a real one may not);
* ``univariable_p`` — the rule itself, on the data: one univariable Cox model (Efron ties) per candidate on
  the analysis' population, and the candidates with two-sided Wald p < ``selection_p`` (default 0.1) enter the
  model, in candidate order, after the primary term, which is always kept (the contrast is the question, not a
  candidate for screening).

Screening on univariable p-values is the paper's rule, reproduced, not recommended: it ignores confounding and
the selection's own uncertainty (the posterior is conditional on the selected list).

:func:`resolve_selection` runs before anything is fitted and returns the plan with every ``univariable_p``
analysis' terms filled in and each selecting analysis' ``selection_note`` set (its rows carry it), and the
long record the run writes as ``selection.csv``: one row per analysis and candidate (or published term) with
its univariable p, whether the rule selects it, whether it is in the published list and whether the model uses
it.
"""
from __future__ import annotations

import json
import logging
from dataclasses import asdict, replace
from pathlib import Path

import pandas as pd

from hccbayes.atomic import write_csv
from hccbayes.inference.frequentist.cox import cox_fit
from hccbayes.memo import MemoStore, digest

log = logging.getLogger(__name__)

FILE = "selection.csv"
COLUMNS = ["analysis", "endpoint", "population", "rule", "threshold", "term", "univariable_p", "selected",
           "published", "used"]


def univariable_p(df: pd.DataFrame, time: str, event: str, terms) -> dict[str, float]:
    """term -> two-sided Wald p of its univariable Cox model on ``df``; NaN for a term without two levels
    (or values) there, which no rule selects."""
    out = {}
    for t in terms:
        x = df[t].dropna()
        out[t] = float(cox_fit(df, time, event, [t]).iloc[0]["p"]) if x.nunique() > 1 else float("nan")
    return out


def _population(df: pd.DataFrame, a) -> pd.DataFrame:
    for col, val in a.population.items():
        df = df[df[col].astype(str) == str(val)]
    return df


def _note(a, selected: tuple[str, ...]) -> str:
    rule = f"univariable Cox p < {a.selection_p:g}"
    if a.selection == "univariable_p":
        kept = f"; the primary term {a.primary} is kept whatever its p" if a.primary else ""
        return f"terms selected on this cohort by {rule}: {', '.join(selected) or 'none'}{kept}"
    text = "terms: the published multivariable list"
    if not a.candidates:
        return text
    if set(selected) == set(a.terms):
        return text + f"; {rule} on this cohort selects the same terms"
    return (text + f"; {rule} on this cohort selects {', '.join(selected) or 'none'} "
            f"(not in the published list: {', '.join(t for t in selected if t not in a.terms) or 'none'}; "
            f"published but not selected: {', '.join(t for t in a.terms if t not in selected) or 'none'})")


def resolve_selection(plan, study, df: pd.DataFrame, frame=lambda df, a: df, memo: MemoStore | None = None,
                      base: str = ""):
    """(plan with selections resolved, selection.csv rows); see the module docstring. ``frame(df, a)`` is the
    cohort an analysis is fitted to (e.g. its landmark cohort), applied after its population filter.
    ``memo``: where each analysis' univariable p-values are kept under the digest of ``base`` (the run's code,
    study, cohort and settings: :func:`.memo_run.run_digest`) and the analysis."""
    analyses, records = [], []
    for a in plan.analyses:
        if a.kind != "survival" or not (a.selection or a.candidates):
            analyses.append(a)
            continue
        pool = tuple(dict.fromkeys((*a.candidates, *a.terms)))
        key = digest(base, "univariable_p", json.dumps(asdict(a), default=list, sort_keys=True))
        p = memo.get(f"selection/{a.id}", key) if memo is not None else None
        if p is None:
            ep = study.endpoint(a.endpoint)
            p = univariable_p(frame(_population(df, a), a), ep.time, ep.event, pool)
            if memo is not None:
                memo.put(f"selection/{a.id}", key, p)
        selected = tuple(t for t in a.candidates if p[t] < a.selection_p)
        if a.selection == "univariable_p":
            a = replace(a, terms=tuple(dict.fromkeys((*((a.primary,) if a.primary else ()), *selected))))
        a = replace(a, selection_note=_note(a, selected))
        log.info("%s: %s", a.id, a.selection_note)
        for t in pool:
            records.append({"analysis": a.id, "endpoint": a.endpoint, "population": a.population_label,
                            "rule": a.selection or "published", "threshold": a.selection_p, "term": t,
                            "univariable_p": p[t], "selected": t in selected,
                            "published": a.selection != "univariable_p" and t in a.terms, "used": t in a.terms})
        analyses.append(a)
    return replace(plan, analyses=tuple(analyses)), records


def write_selection(records: list[dict], out: Path) -> Path:
    """``out/selection.csv`` (a header only when no analysis selects)."""
    return write_csv(pd.DataFrame(records, columns=COLUMNS), Path(out) / FILE, float_format="%.10g")
