"""The report's variable-selection section: where each multivariable model's terms come from.

Read from the run's ``selection.csv`` (:mod:`hccbayes.inference.engine.selection`): per analysis, the list the
model uses, the published list and the list the univariable p-value rule picks on the cohort, with the terms in
only one of the two — shown for every analysis that declares a selection, so a reader sees at once where a
published list and the rule applied to these data part ways.
"""
from __future__ import annotations

import pandas as pd

from hccbayes.reports.document import Heading, Para, Table
from hccbayes.reports.numbers import fmt


def _names(terms) -> str:
    return ", ".join(terms) or "none"


def selection_frame(selection: pd.DataFrame) -> pd.DataFrame:
    """One row per analysis: rule, terms used, published, selected by the rule, and the differences."""
    out = []
    for analysis, g in selection.groupby("analysis", sort=False):
        first = g.iloc[0]
        published = g.loc[g["published"].astype(bool), "term"].tolist()
        selected = g.loc[g["selected"].astype(bool), "term"].tolist()
        rule = f"univariable Cox p < {fmt(float(first['threshold']), 'real')}"
        out.append({"Analysis": analysis, "Endpoint": str(first["endpoint"]).upper(),
                    "Population": first["population"],
                    "Terms from": "the published list" if first["rule"] == "published" else f"{rule} on the cohort",
                    "Model terms": _names(g.loc[g["used"].astype(bool), "term"]),
                    "Published": _names(published) if first["rule"] == "published" else "(not given)",
                    f"Selected by {rule}": _names(selected),
                    "Only published": _names(t for t in published if t not in selected)
                    if first["rule"] == "published" else "",
                    "Only selected": _names(t for t in selected if t not in published)
                    if first["rule"] == "published" else ""})
    return pd.DataFrame(out)


def selection_blocks(run) -> list:
    selection = run.selection
    if selection is None or selection.empty:
        return []
    frame = selection_frame(selection)
    published = frame[frame["Terms from"] == "the published list"]
    differ = published[(published["Only published"] != "none") | (published["Only selected"] != "none")]
    text = ("Multivariable models take their terms either from the paper's printed multivariable columns, as the "
            "plan states, or from a univariable screen (Cox p below a threshold) on the cohort. Where the plan fits "
            "the published list and names the candidates, the screen is also run on the cohort: ")
    if published.empty:
        text += "no model here uses a published list."
    else:
        text += (f"it picks other terms than the published list in {fmt(len(differ), 'count')} of the "
                 f"{fmt(len(published), 'count')} models (table). A posterior from a screened list is conditional "
                 "on the screen; the screen itself ignores confounding and is shown to reproduce the paper, not "
                 "recommended.")
    return [Heading("Variable selection", "selection"), Para(text),
            Table("selection", "Terms of the multivariable models: published lists and the univariable screen on "
                  "the cohort", frame)]
