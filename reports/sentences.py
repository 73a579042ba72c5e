"""Sentences for papers, generated from the comparison table — every number through
:func:`hccbayes.reports.numbers.fmt`.

Which comparisons get sentences: every Bayesian source of every **primary** comparison — a hazard
ratio whose contrast names two groups ("B vs A") — and of every **response** comparison
(a risk difference of a response endpoint: best-response levels, ORR, DCR; adverse events are not
response comparisons).

Wording rules (the only words that depend on numbers; documented here and in the report's methods):

* Verbs follow the design (``randomised`` in study.toml): only a contrast between two arms of a randomised
  study is worded as an effect ("reduced the hazard", "increased the <rate>"); a contrast of a
  non-randomised study and every covariate contrast (AFP strata, biomarkers) is worded as an association
  ("was associated with a lower hazard", "was associated with a higher <rate>").
* The direction comes from the posterior median: HR < 1 "reduced" / "lower", HR > 1 "increased" /
  "higher"; risk difference > 0 "increased" / "higher", < 0 "decreased" / "lower".
* Its certainty comes from the posterior probability of that direction, p_dir = P(HR < 1) when the
  median is below 1 and 1 − P(HR < 1) otherwise (for differences P(difference > 0) likewise), read from
  the table's probability row at the null threshold (1 for ratios, 0 for differences):

  ==================  =====================================================================
  p_dir               wording
  ==================  =====================================================================
  ≥ 0.95              "<verb>" (e.g. "was associated with a lower hazard of death")
  0.80 – 0.95         "probably <verb>" ("was probably associated with a lower hazard of death")
  < 0.80              "showed no clear difference in ..." (numbers still given)
  no probability row  no direction word: "the posterior median ... was ..."
  ==================  =====================================================================

* The sentence quotes the table's probabilities as they are (P(HR < 1), never its complement), so every
  number in it is a table value.
* A row whose ``diagnostics_ok`` is false gets "MCMC diagnostics failed (...): do not report these
  numbers until the model is refitted." with the table's diagnostics text; its wording is not hedged
  further, because the numbers themselves are unreliable.
* Cohort-based rows end with "(reconstructed pseudo-patient cohort)"; count/summary rows with
  "(exact re-analysis of the published figures)". A comparison computed both ways gets one sentence per
  basis (never one sentence mixing their numbers).
* Response outcomes are named by their best-response level ("objective response rate (ORR)",
  :data:`RESPONSE_NAMES`), other outcomes by the comparison's title.
* Groups keep their names ("Compared with A, B ..."), except groups named by a lowercase level of
  a registry population ("elevated"), which read "patients with <population label>" (:func:`group_phrases`).
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from hccbayes.reports.numbers import (
    base_quantity,
    cell_kind,
    fmt,
    fmt_interval,
    interval_level,
    model_label,
    prob_relation,
    value_kind,
)

STRONG = 0.95
PROBABLE = 0.80
RESPONSE_ENDPOINT_PREFIXES = ("orr", "dcr", "cr", "pr", "sd", "pd", "best_response")
COHORT_TAG = "reconstructed pseudo-patient cohort"
EXACT_TAG = "exact re-analysis of the published figures"
NULL = {"ratio": 1.0, "pp": 0.0}
# what a response endpoint's level is called in a sentence (mRECIST/RECIST best-response terms)
RESPONSE_NAMES = {"CR": "complete response rate", "PR": "partial response rate", "SD": "stable disease rate",
                  "PD": "progressive disease rate", "ORR": "objective response rate (ORR)",
                  "DCR": "disease control rate (DCR)"}


@dataclass(frozen=True)
class Sentence:
    analysis: str
    source: str
    kind: str  # "hr" | "response"
    text: str
    diagnostics_ok: bool
    key: tuple = ()  # (analysis, population, endpoint, contrast) of the comparison
    prior_set: str = ""
    brief: str = ""  # "Under the skeptical prior (... model): <numbers>." for the sensitivity line
    basis: str = ""  # EXACT_TAG or COHORT_TAG: what the numbers were computed from


def is_bayes(source: pd.Series) -> pd.Series:
    return source.str.startswith("bayes:")


def two_groups(contrast: str) -> tuple[str, str] | None:
    """'B vs A' → ('B', 'A'); None when the contrast does not name two groups."""
    parts = contrast.split(" vs ")
    return (parts[0].strip(), parts[1].strip()) if len(parts) == 2 and all(p.strip() for p in parts) else None


def is_response_endpoint(endpoint: str) -> bool:
    e = endpoint.lower().replace("best_response:", "")
    return e in RESPONSE_ENDPOINT_PREFIXES or endpoint.lower().startswith("best_response")


def comparison_kind(rows: pd.DataFrame) -> str | None:
    """'hr' for a primary survival contrast, 'response' for a response comparison, None otherwise.

    A survival contrast is primary when it names two groups and also carries their difference in median
    survival (``median_diff``: the plan stratified the analysis by these groups — arms, biomarker strata);
    the hazard ratios of covariate screens (a paper's Cox tables, one row each) are shown in tables and forest
    plots instead of sentences."""
    if two_groups(rows["contrast"].iloc[0]) is None:
        return None
    q = {base_quantity(x) for x in rows["quantity"].unique()}
    if {"hr", "median_diff"} <= q:
        return "hr"
    if q & {"risk_difference", "rate_diff"} and is_response_endpoint(rows["endpoint"].iloc[0]):
        return "response"
    return None


def _wording(p_dir: float | None) -> str:
    if p_dir is None:
        return "none"
    if p_dir >= STRONG:
        return "strong"
    return "probable" if p_dir >= PROBABLE else "unclear"


def _probabilities(probs: pd.DataFrame, kind: str, label: str) -> str:
    """'P(HR < 1) = 0.99; P(HR < 0.7) = 0.80': the null threshold first, then by distance from it."""
    parts = []
    order = (probs["threshold"] - NULL[kind]).abs().sort_values(kind="stable").index
    for _, r in probs.loc[order].iterrows():
        t = fmt(r["threshold"], cell_kind("threshold", r["quantity"], r["unit"]))
        t += " percentage points" if kind == "pp" and r["threshold"] != 0 else ""
        parts.append(f"P({label} {r['direction']} {t}) {prob_relation(r['probability'])}")
    return "; ".join(parts)


def _tag(row: pd.Series) -> str:
    model, prior = model_label(row["model"] or row["source"].split(":")[1]), row["prior_set"]
    basis = COHORT_TAG if bool(row["cohort_based"]) else EXACT_TAG
    return f"[{model} model, {prior.replace('_', ' ')} prior; {basis}]"


def _failed(row: pd.Series) -> str:
    if pd.isna(row["diagnostics_ok"]) or bool(row["diagnostics_ok"]):
        return ""
    why = f" ({row['diagnostics']})" if row["diagnostics"] else ""
    return f" MCMC diagnostics failed{why}: do not report these numbers until the model is refitted."


def group_phrases(population_labels: dict[str, str]) -> dict[str, str]:
    """How a contrast's group reads in a sentence: a group named by a lowercase level ("elevated", from the
    population "marker_change:elevated") becomes "patients with <its population label>" ("patients with
    the marker elevated after 8 weeks"); named groups (A, B1) stay as they are."""
    out = {}
    for name, label in population_labels.items():
        level = name.split(":", 1)[-1]
        if ":" in name and level[:1].islower() and label:
            out[level] = f"patients with {label}"
    return out


def _direction(strength: str, causal: bool, up: bool, what: str) -> str:
    """The verb phrase of a stated direction: an effect ("probably reduced the hazard of death") for a
    randomised contrast, an association ("was probably associated with a lower hazard of death") else."""
    probably = "probably " if strength == "probable" else ""
    if causal:
        down = "reduced" if what.startswith("hazard") else "decreased"
        return f"{probably}{'increased' if up else down} the {what}"
    return f"was {probably}associated with a {'higher' if up else 'lower'} {what}"


def is_causal(contrast: str, randomised_arms: tuple[str, ...]) -> bool:
    """Whether a contrast may be worded as an effect: both its groups are arms of a randomised study."""
    groups = two_groups(contrast)
    return groups is not None and all(g in randomised_arms for g in groups)


def _sentence(summary: pd.Series, probs: pd.DataFrame, kind: str, outcome: str,
              groups: dict[str, str] | None = None, causal: bool = False) -> tuple[str, str]:
    """(full sentence, its bracketed numbers) of one Bayesian source; ``causal``: word a stated direction
    as an effect (a randomised contrast) rather than an association."""
    comp, ref = ((groups or {}).get(g, g) for g in two_groups(summary["contrast"]))
    vk = value_kind(summary["quantity"], summary["unit"])
    level = interval_level(summary["interval"])
    ci = f"{level}% CrI " if level else "CrI "
    est = summary["estimate"]
    null = NULL[vk]
    p_null = probs[probs["threshold"] == null]
    p_dir = None
    if len(p_null):
        p = float(p_null["probability"].iloc[0])
        below = est < null
        p_dir = p if (p_null["direction"].iloc[0] == "<") == below else 1.0 - p
    strength = _wording(p_dir)
    if kind == "hr":
        label = "HR"
        numbers = f"posterior median HR {fmt(est, vk)}, {ci}{fmt_interval(summary['lower'], summary['upper'], vk)}"
        if strength == "unclear":
            head = f"Compared with {ref}, {comp} showed no clear difference in the hazard of {outcome}"
        elif strength == "none":
            head = f"Compared with {ref}, the hazard of {outcome} with {comp} was summarised as"
        else:
            head = f"Compared with {ref}, {comp} {_direction(strength, causal, est > 1, f'hazard of {outcome}')}"
    else:
        label = "difference"
        numbers = (f"posterior median difference {fmt(est, vk)} percentage points, "
                   f"{ci}{fmt_interval(summary['lower'], summary['upper'], vk)}")
        if strength == "unclear":
            head = f"Compared with {ref}, {comp} showed no clear difference in the {outcome}"
        elif strength == "none":
            head = f"Compared with {ref}, the {outcome} with {comp} was summarised as"
        else:
            by = f"by {fmt(abs(est), vk)} percentage points"
            head = f"Compared with {ref}, {comp} {_direction(strength, causal, est > 0, outcome)}" \
                   + (f" {by}" if causal else f", {by}")
    inner = numbers + ("; " + _probabilities(probs, vk, label) if len(probs) else "")
    return f"{head} ({inner}) {_tag(summary)}.{_failed(summary)}", inner


def _brief(summary: pd.Series, inner: str) -> str:
    model = model_label(summary["model"] or summary["source"].split(":")[1])
    failed = " (MCMC diagnostics failed)" if _failed(summary) else ""
    return f"Under the {summary['prior_set'].replace('_', ' ')} prior ({model} model){failed}: {inner}."


def _outcome(rows: pd.DataFrame, kind: str, event_labels: dict[str, str]) -> str:
    endpoint = rows["endpoint"].iloc[0]
    if kind == "hr":
        return event_labels.get(endpoint, endpoint)
    level = str(endpoint).rsplit(":", 1)[-1].upper()
    if level in RESPONSE_NAMES:
        return RESPONSE_NAMES[level]
    title = rows["title"].iloc[0]
    if not title:
        return endpoint
    return title if title[1:2].isupper() else title[0].lower() + title[1:]  # keep an acronym's capitals


def comparison_sentences(table: pd.DataFrame, event_labels: dict[str, str] | None = None,
                         population_labels: dict[str, str] | None = None,
                         randomised_arms: tuple[str, ...] = ()) -> list[Sentence]:
    """One sentence per Bayesian source of every primary and every response comparison (table order).
    ``event_labels``: endpoint -> what its event is called; ``population_labels``: registry population
    name -> label (for :func:`group_phrases`); ``randomised_arms``: the arms of a randomised study, whose
    contrasts are worded as effects (none: every contrast is an association, see the module docstring)."""
    labels = event_labels or {}
    groups = group_phrases(population_labels or {})
    out: list[Sentence] = []
    keys = ["analysis", "population", "endpoint", "contrast"]
    for key, rows in table.groupby(keys, sort=False):
        kind = comparison_kind(rows)
        if kind is None:
            continue
        target = "hr" if kind == "hr" else ("risk_difference", "rate_diff")
        q = rows["quantity"].map(base_quantity)
        sel = rows[q.isin([target] if isinstance(target, str) else target) & is_bayes(rows["source"])]
        # published counts and the pseudo-patient cohort are separate evidence: never one sentence of both
        for (source, _), g in sel.groupby(["source", "cohort_based"], sort=False):
            summaries = g[g["probability"].isna() & g["estimate"].notna()]
            if summaries.empty:
                continue
            summary = summaries.iloc[0]
            probs = g[g["probability"].notna()]
            text, inner = _sentence(summary, probs, kind, _outcome(rows, kind, labels), groups,
                                    is_causal(summary["contrast"], randomised_arms))
            ok = not (pd.notna(summary["diagnostics_ok"]) and not bool(summary["diagnostics_ok"]))
            out.append(Sentence(summary["analysis"], str(source), kind, text, ok, tuple(key),
                                str(summary["prior_set"]), _brief(summary, inner),
                                COHORT_TAG if bool(summary["cohort_based"]) else EXACT_TAG))
    return out
