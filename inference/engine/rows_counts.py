"""Comparison-table rows of response analyses (rates) and of the summary-level HR re-analysis.

Response analyses, per registry comparison (Table 3 levels, Table 6 events and grades, AFP-change
ORR/DCR): ``published`` rates and p; ``frequentist`` χ²/Fisher p (the paper's rule, all three p-values
in the note) on the published counts (``cohort_based`` False) and on the cohort's counts (True);
``bayes:beta_binomial:<prior set>`` rates, rate difference, risk and odds ratio and P(Δ > t), on the
published counts and on the cohort. Summary analyses: the rows of
:func:`hccbayes.models.summary_hr.summary_hr_rows`, renamed to the table's columns.
"""
from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from hccbayes.inference.frequentist.proportions import contingency_test
from hccbayes.models.priors.sets import named_prior_sets
from hccbayes.models.response.beta_binomial import compare_rates, comparison_rows
from hccbayes.models.response.counts import RateData, response_indicators
from hccbayes.models.summary_hr import hr_rows

log = logging.getLogger(__name__)

QUANTITY = {"risk_difference": ("rate_diff", ""), "prob_risk_difference_gt": ("rate_diff", ">"),
            "prob_hr_lt": ("hr", "<")}


def _short(pop: str) -> str:
    return pop.split(":", 1)[-1]


GRADES = {"any": "any grade", "g34": "grade 3–4"}


def outcome_label(endpoint: str) -> str:
    """The outcome a response endpoint names, for titles and sentences: ``best_response:ORR`` → "ORR",
    ``ae:hypertension:g34`` → "hypertension, grade 3–4"."""
    parts = endpoint.split(":")[1:] or [endpoint]
    return ", ".join(GRADES.get(p, p.replace("_", " ")) for p in parts)


def adapt(row: dict[str, Any], analysis, cohort_based: bool) -> dict[str, Any]:
    """A row of the response/summary modules as a comparison-table row."""
    out = {k: v for k, v in row.items() if k not in ("mcse", "entry") and v is not None}
    quantity, direction = QUANTITY.get(row["quantity"], (row["quantity"], ""))
    out.update(analysis=analysis.id, title=analysis.title, quantity=quantity, cohort_based=cohort_based)
    if direction:
        out["direction"] = direction
    if row.get("entry"):
        out["registry_id"] = row["entry"]
    if row.get("mcse") is not None:
        out["note"] = "; ".join(filter(None, [out.get("note"), f"MC SE {row['mcse']:.4f}"]))
    src = str(row["source"])
    if src.startswith("bayes:"):
        _, model, prior = src.split(":", 2)
        out.update(model=model, prior_set=prior, diagnostics="closed form (no MCMC)")
        out.pop("diagnostics_ok", None)  # NA: the diagnostics gate is for MCMC fits
    if quantity == "rate" and str(out.get("population", "")).count(":"):
        out["group"], out["population"] = _short(out["population"]), "all"
    if quantity in ("rate", "rate_diff", "risk_ratio", "odds_ratio"):
        out.setdefault("unit", "proportion" if quantity in ("rate", "rate_diff") else "ratio")
    return out


def cohort_rate_data(rd: RateData, df: pd.DataFrame, study) -> RateData | None:
    """The same comparison counted on the cohort (None when the cohort lacks the outcome column)."""
    kind, _, rest = rd.endpoint.partition(":")
    if kind == "best_response":
        indicator = response_indicators(df, study).get(rest)
    else:
        event, _, grade = rest.partition(":")
        col = study.ae_column(event, grade)
        indicator = df[col] if col in df else None
    if indicator is None:
        return None
    events, totals = [], []
    for g in rd.groups:
        column, _, level = g.partition(":")
        mask = df[column].astype(str) == level
        events.append(int(indicator[mask].astype(int).sum()))
        totals.append(int(mask.sum()))
    return RateData(rd.analysis, rd.endpoint, rd.groups, tuple(events), tuple(totals), rd.population,
                    note="counted on the cohort")


def _test_row(rd: RateData, cohort_based: bool, registry_id: str) -> dict[str, Any]:
    t = contingency_test(rd.table())
    yates = f", Yates {t.yates_p:.4g}" if t.yates_p is not None else ""
    return dict(endpoint=rd.endpoint, contrast=rd.contrast, quantity="p_value", source="frequentist",
                model=t.test, estimate=t.p, cohort_based=cohort_based, registry_id=registry_id,
                note=f"{'cohort' if cohort_based else 'published'} counts {rd.table()}; Pearson {t.pearson_p:.4g}"
                     f"{yates}, Fisher {t.fisher_p:.4g} ({t.fisher_method}); min expected {t.min_expected:.2f}")


def response_rows(analysis, comparisons: list[RateData], df: pd.DataFrame, study, seeds) -> list[dict]:
    """Rows of every comparison of a response analysis; each row's ``endpoint`` is the comparison's outcome
    (``best_response:ORR``) and its ``title`` names it. The cohort's counts are analysed only where they
    differ from the published ones (identical counts would give the same p and posterior twice)."""
    rows: list[dict] = []
    thresholds = tuple(dict.fromkeys(float(t) for t in analysis.thresholds.get("rate_diff", (0.0,))))
    for rd in comparisons:
        title = f"{analysis.title}: {outcome_label(rd.endpoint)}"
        base = dict(analysis=analysis.id, title=title, population="all", endpoint=rd.endpoint)
        p_id = rd.sources[-1] if rd.published_p is not None else ""
        for i, g in enumerate(rd.groups):
            pct = rd.published_percent[i] if i < len(rd.published_percent) else None
            rate = pct / 100 if pct is not None else rd.events[i] / rd.totals[i]
            rows.append({**base, "quantity": "rate", "group": _short(g), "source": "published", "estimate": rate,
                         "unit": "proportion", "cohort_based": False, "registry_id": rd.sources[i],
                         "note": f"{rd.events[i]}/{rd.totals[i]}" + (f"; {rd.note}" if rd.note else "")})
        if rd.published_p is not None:
            rows.append({**base, "contrast": rd.contrast, "quantity": "p_value", "source": "published",
                         "estimate": rd.published_p, "cohort_based": False, "registry_id": p_id,
                         "note": f"printed {rd.published_p_raw}"})
        cohort_rd = cohort_rate_data(rd, df, study)
        same = cohort_rd is not None and (cohort_rd.events, cohort_rd.totals) == (rd.events, rd.totals)
        ids = ";".join(rd.sources)
        for data, on_cohort in ((rd, False), (None if same else cohort_rd, True)):
            if data is None:
                if not same:
                    log.warning("%s: the cohort has no column for %s; cohort rows left out", analysis.id,
                                rd.endpoint)
                continue
            rows.append({**base, **_test_row(data, on_cohort, p_id)})
            for ps in analysis.prior_sets:
                comp = compare_rates(data.counts, data.reference, prior_set=ps, thresholds=thresholds,
                                     seed=seeds(rd.endpoint, ps, on_cohort))
                for r in comparison_rows(comp, analysis.id, rd.endpoint):
                    r["contrast"] = rd.contrast if r.get("contrast") else None
                    row = {**adapt(r, analysis, on_cohort), "title": title, "registry_id": ids}
                    if same:
                        row["note"] = "; ".join(filter(None, [row.get("note"), "the cohort's counts are the "
                                                              "published counts"]))
                    rows.append(row)
    return rows


def summary_rows(analysis, pairs, mcid: float) -> list[dict]:
    sets = {k: v for k, v in named_prior_sets(mcid).items() if k in analysis.prior_sets}
    rows = []
    for entry, p_entry in pairs:
        for r in hr_rows(entry, p_entry, sets, mcid):
            out = adapt(r, analysis, False)
            if r["quantity"] == "p_value" and r["source"] == "published" and p_entry is not None:
                out["registry_id"] = p_entry.id
            out["unit"] = "HR" if out["quantity"] == "hr" else ""
            out["model"] = out.get("model") or ("wald" if r["source"] == "frequentist" else "")
            out["population"] = entry["population"]
            out["note"] = "; ".join(filter(None, [out.get("note"), f"{entry['model']} Cox HR, {entry.source}"]))
            rows.append(out)
    return rows
