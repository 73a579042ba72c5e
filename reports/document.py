"""The report as a list of blocks (headings, paragraphs, tables, figures) that the Markdown and HTML
writers render the same way. Every number in a block went through :func:`hccbayes.reports.numbers.fmt`
or is a string cell of an input (table, fit attrs, run.json, PROVENANCE.md, audit) shown verbatim.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from hccbayes.inference.engine.groups import EXTRAPOLATED
from hccbayes.reports.numbers import base_quantity, cell_kind, fmt, fmt_interval, model_label, prob_relation, value_kind

GUARD = ("Rows marked **pseudo-patient cohort** come from a reconstructed pseudo-patient cohort "
         "(synthetic rows rebuilt from the published summaries, not patient records); rows marked "
         "**exact re-analysis** are exact re-analyses of the published figures (counts, printed hazard "
         "ratios and confidence intervals); rows marked **published** are the paper's numbers.")
BASIS = {True: "pseudo-patient cohort", False: "exact re-analysis"}
TIME_LABELS = {"median": "median", "median_diff": "median difference", "rmst": "RMST", "rmst_diff": "RMST difference"}
QUANTITY_LABELS = {"hr": "HR", "median": "median (months)", "median_diff": "median difference (months)",
                   "rmst": "RMST (months)", "rmst_diff": "RMST difference (months)", "rate": "rate",
                   "risk_difference": "risk difference (percentage points)", "rate_diff":
                   "rate difference (percentage points)", "risk_ratio": "risk ratio", "odds_ratio": "odds ratio",
                   "p_value": "p-value", "survival": "survival probability",
                   "tipping_point": "tipping point (prior HR or MCID)"}


@dataclass
class Heading:
    text: str
    anchor: str
    level: int = 2


@dataclass
class Para:
    text: str  # Markdown subset: **bold**, [text](#anchor)
    cls: str = ""  # "guard" | "sentence" | "failed" | "sensitivity" | ""


@dataclass
class Table:
    name: str  # file stem under tables/
    caption: str
    frame: pd.DataFrame  # strings only
    collapsed: bool = False  # HTML: inside <details>


@dataclass
class Figure:
    name: str  # file stem under figures/
    caption: str
    fig: object  # matplotlib Figure
    files: dict = field(default_factory=dict)  # "png"/"svg" -> path, filled by build


def source_label(row: pd.Series) -> str:
    src = row["source"]
    if src == "published":
        return "published"
    if src == "frequentist":
        return f"frequentist ({model_label(row['model'])})" if row["model"] else "frequentist"
    _, model, prior = (src.split(":") + ["", ""])[:3]
    return f"Bayesian {model_label(model)}, {prior.replace('_', ' ')} prior"


def basis_label(row: pd.Series) -> str:
    if row["source"] == "published":
        return "published"
    cb = row["cohort_based"]
    return BASIS[bool(cb)] if pd.notna(cb) else "not stated"


def diagnostics_label(row: pd.Series) -> str:
    if not row["source"].startswith("bayes:"):
        return ""
    ok = row["diagnostics_ok"]
    if pd.isna(ok):
        return "not recorded"
    if bool(ok):
        return "ok"
    return "FAILED" + (f": {row['diagnostics']}" if row["diagnostics"] else "")


def probability_text(probs) -> str:
    """'P(HR < 1) = 0.99; P(HR < 0.7) = 0.80' of probability rows (a DataFrame or a list of records)."""
    parts = []
    for r in probs.to_dict("records") if isinstance(probs, pd.DataFrame) else probs:
        q = base_quantity(r["quantity"])
        label = "HR" if q == "hr" else QUANTITY_LABELS.get(q, q).split(" (")[0]
        t = fmt(r["threshold"], cell_kind("threshold", r["quantity"], r["unit"]))
        parts.append(f"P({label} {r['direction']} {t}) {prob_relation(r['probability'])}")
    return "; ".join(parts)


KEYS = ("analysis", "population", "contrast", "source", "bq", "group")


def quantity_label(quantity: str, unit: str, horizon) -> str:
    """'median (days)', 'RMST to 1825 days (days)', 'survival probability at 365', 'HR', ...: a time
    quantity names its unit, an RMST its horizon, S(t) its time."""
    if quantity in TIME_LABELS and unit:
        name = TIME_LABELS[quantity]
        if quantity.startswith("rmst") and pd.notna(horizon):
            name += f" to {horizon:g} {unit}"
        return f"{name} ({unit})"
    if quantity in ("survival", "survival_diff") and pd.notna(horizon):
        return ("survival probability" if quantity == "survival" else "survival difference") + f" at {horizon:g}"
    return QUANTITY_LABELS.get(quantity, quantity)


def extrapolation_flag(r) -> str:
    """', EXTRAPOLATED beyond follow-up' for a row whose horizon lies beyond a compared group's last follow-up
    (a plan's ``extrapolate = true``): the model's tail, not data, and the label says so."""
    rmst = str(r.get("quantity", "")).startswith("rmst")  # the engine's flag is about the RMST horizon
    return ", EXTRAPOLATED beyond follow-up" if rmst and EXTRAPOLATED in str(r.get("note", "")) else ""


def comparison_frame(rows: pd.DataFrame, with_key: bool = False) -> pd.DataFrame:
    """Display rows of one (or, ``with_key``, several) comparisons: one line per summary row, the
    probabilities of the same comparison/source/quantity/group on that line; probabilities without a
    summary row get a line of their own. (Plain records, not per-group pandas selections: a full run's
    report formats a few thousand rows.)"""
    summaries, probs = [], {}
    for r in rows.to_dict("records"):
        r["bq"] = base_quantity(r["quantity"])
        if r["probability"] == r["probability"]:  # not NaN: a probability row
            probs.setdefault(tuple(r[c] for c in KEYS), []).append(r)
        else:
            summaries.append(r)
    out, used = [], set()
    for r in summaries:
        k = tuple(r[c] for c in KEYS)
        mine = probs.get(k)
        used.add(k)
        kind = value_kind(r["quantity"], r["unit"])
        label = (quantity_label(r["bq"], r["unit"], r["horizon"]) + extrapolation_flag(r)
                 + (f", {r['group']}" if r["group"] else ""))
        interval = (f"{r['interval']} {fmt_interval(r['lower'], r['upper'], kind)}".strip()
                    if pd.notna(r["lower"]) or pd.notna(r["upper"]) else "")
        out.append(_line(r, with_key, label, fmt(r["estimate"], kind), interval,
                         probability_text(mine) if mine is not None else ""))
    for k, g in probs.items():
        if k not in used:
            out.append(_line(g[0], with_key, quantity_label(k[4], g[0]["unit"], g[0]["horizon"])
                             + extrapolation_flag(g[0]), "", "", probability_text(g)))
    return pd.DataFrame(out)


def _line(r, with_key, label, estimate, interval, probs) -> dict:
    line = {}
    if with_key:
        line["Comparison"] = comparison_title(r)
    line.update({"Source": source_label(r), "Quantity": label, "Estimate": estimate, "Interval": interval,
                 "Posterior probabilities": probs, "Diagnostics": diagnostics_label(r), "Basis": basis_label(r)})
    return line


def comparison_title(r: pd.Series) -> str:
    parts = [r["title"] or r["analysis"]]
    if r["contrast"] and r["contrast"] not in parts[0]:
        parts.append(r["contrast"])
    if r["endpoint"] and r["endpoint"] not in parts[0].lower():
        parts.append(r["endpoint"].upper())
    if r["population"] and r["population"] != "all":
        parts.append(r["population"])
    return ", ".join(parts)


_GROUPS: dict[int, tuple] = {}


def comparison_groups(table: pd.DataFrame):
    """(key, rows) per comparison, in table order (computed once per table: several sections use them)."""
    cached = _GROUPS.get(id(table))
    if cached is None or cached[0] is not table:
        _GROUPS.clear()
        cached = _GROUPS[id(table)] = (table, list(table.groupby(["analysis", "population", "endpoint", "contrast"],
                                                                 sort=False)))
    return cached[1]


def anchor(text: str) -> str:
    out = "".join(c if c.isalnum() else "-" for c in text.lower())
    while "--" in out:
        out = out.replace("--", "-")
    return out.strip("-")
