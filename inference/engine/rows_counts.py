"""Comparison-table rows of response analyses (rates) and of the summary-level HR re-analysis.

Response analyses, per comparison published.toml declares (best-response levels, adverse events and
grades, response rates by a biomarker's groups): ``published`` rates and p; ``frequentist`` χ²/Fisher p (the paper's rule, all three p-values
in the note) on the published counts (``cohort_based`` False) and on the cohort's counts (True);
``bayes:beta_binomial:<prior set>`` rates (posterior median and 95% ETI, closed form), rate difference,
risk and odds ratio (exact posterior draws) and P(Δ > t) (exact, by quadrature; the draws' value and its
Monte Carlo SE in the note), on the published counts and on the cohort
(:func:`hccbayes.models.response.beta_binomial.compare_rates`).

Summary analyses, per published Cox HR with its 95% CI: the ``published`` HR (and p), the
``frequentist`` Wald p of ln HR / SE, and per prior set the ``bayes:summary_normal:<prior set>`` HR with
its 95% ETI and P(HR < 1), P(HR < mcid) of the normal–normal posterior (:mod:`hccbayes.models.summary_hr`).
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from hccbayes.inference.engine.rows_survival import prior_text
from hccbayes.inference.engine.table import Rows, bayes_columns, row
from hccbayes.inference.frequentist.proportions import contingency_test
from hccbayes.models.priors.roles import TermRoles, default_roles, with_roles
from hccbayes.models.priors.sets import PRIOR_SET_NAMES, prior_set
from hccbayes.models.response.beta_binomial import RateComparison, compare_rates, draw_intervals
from hccbayes.models.response.counts import RateData, response_indicators
from hccbayes.models.response.logistic import CLINICAL, compare_rates_logistic, log_odds_priors
from hccbayes.models.summary_audit import SummaryInput
from hccbayes.models.summary_hr import figure_notes, normal_update, wald_p

log = logging.getLogger(__name__)

CI_PROB = 0.95
ETI = f"{CI_PROB:.0%} ETI"
CLOSED_FORM = "closed form (no MCMC)"
DERIVED = {"risk_difference": ("rate_diff", "proportion"), "risk_ratio": ("risk_ratio", "ratio"),
           "odds_ratio": ("odds_ratio", "ratio")}


def _short(pop: str) -> str:
    return pop.split(":", 1)[-1]


def outcome_label(endpoint: str, grade_labels: Mapping[str, str] | None = None) -> str:
    """The outcome a response endpoint names, for titles and sentences: ``best_response:ORR`` → "ORR",
    ``ae:rash:g3`` → "rash, grade 3" with ``grade_labels`` (study.toml ``[adverse_events] grade_labels``)
    ``{"g3": "grade 3"}``, else "rash, g3"."""
    parts = endpoint.split(":")[1:] or [endpoint]
    labels = grade_labels or {}
    return ", ".join(labels.get(p, p.replace("_", " ")) for p in parts)


def _join(*notes: str | None) -> str:
    return "; ".join(filter(None, notes))


def rate_rows(rows: Rows, comp: RateComparison, contrast: str, extra_note: str = "") -> None:
    """The Bayesian rows of one comparison of rates: per group the rate (``group`` its level), then the
    rate difference, risk ratio and odds ratio, then P(difference > t) per threshold."""
    bayes = dict(**bayes_columns(comp.model, comp.prior_set), diagnostics=CLOSED_FORM)
    prior = "prior: " + (comp.prior_text.replace("; ", ", ") or ", ".join(  # one part of the "; "-joined note
        f"{_short(g)} Beta({p.a:g}, {p.b:g})" if hasattr(p, "a") else f"{_short(g)} {p.to_dict()}"
        for g, p in comp.priors.items()))
    how = "closed form" if comp.model == "beta_binomial" else "from the draws of the 2-D quadrature grid"
    for g, s in comp.summaries.items():
        group, population = (_short(g), "all") if ":" in g else (None, g)
        rows.add(**bayes, population=population, group=group, quantity="rate", estimate=s.median, interval=ETI,
                 lower=s.lower, upper=s.upper, unit="proportion",
                 note=_join(prior, f"posterior mean {s.mean:.4f}; {how}", extra_note))
    derived = comp.derived()
    summary = draw_intervals(np.stack(list(derived.values())), CI_PROB)
    for name, (lo, med, hi) in zip(derived, summary.T):
        quantity, unit = DERIVED[name]
        rows.add(**bayes, contrast=contrast, quantity=quantity, estimate=med, interval=ETI, lower=lo, upper=hi,
                 unit=unit, note=_join(prior, f"{comp.n_draws} exact posterior draws, seed {comp.seed}", extra_note))
    for t, p in comp.prob_gt.items():  # the exact probability (quadrature) where it is computed, else the draws'
        exact = comp.prob_gt_exact.get(t)
        how = (f"exact by quadrature; from the {comp.n_draws} draws {p:.4f} (MC SE {comp.mcse(p):.4f})"
               if exact is not None else f"from {comp.n_draws} draws, MC SE {comp.mcse(p):.4f}")
        rows.add(**bayes, contrast=contrast, quantity="rate_diff", direction=">", threshold=t, unit="proportion",
                 probability=exact if exact is not None else p, note=_join(how, extra_note))


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
    return row(endpoint=rd.endpoint, contrast=rd.contrast, quantity="p_value", source="frequentist",
                model=t.test, estimate=t.p, cohort_based=cohort_based, registry_id=registry_id,
                note=f"{'cohort' if cohort_based else 'published'} counts {rd.table()}; Pearson {t.pearson_p:.4g}"
                     f"{yates}, Fisher {t.fisher_p:.4g} ({t.fisher_method}); min expected {t.min_expected:.2f}")


def compare(data: RateData, ps: str, analysis, study, roles: TermRoles, thresholds, seed: int) -> RateComparison:
    """One comparison under prior set ``ps``: vague and weakly informative per-group Betas
    (:mod:`~hccbayes.models.response.beta_binomial`); the clinical sets on the log-odds scale, a treatment
    contrast (the groups are arms and an arm factor is a treatment in ``roles``) with the MCID's odds ratio, any
    other comparison with the neutral shrinkage, no belief taken from the data (:mod:`~hccbayes.models.response.logistic`)."""
    if ps not in CLINICAL:
        return compare_rates(data.counts, data.reference, prior_set=ps, thresholds=thresholds, seed=seed)
    column = data.groups[0].partition(":")[0]
    treatment = column == study.arm_column and any(
        t in study.factors and study.factors[t].column == study.arm_column for t in roles.treatment)
    historical = analysis.historical.get(data.endpoint)
    priors = log_odds_priors(ps, treatment, analysis.mcid, roles.prognostic_hr95, historical,
                             analysis.historical_weight)
    return compare_rates_logistic(data.counts, data.reference, priors, ps, thresholds, seed=seed)


def response_rows(analysis, comparisons: list[RateData], df: pd.DataFrame, study, seeds,
                  roles: TermRoles | None = None) -> list[dict]:
    """Rows of every comparison of a response analysis; each row's ``endpoint`` is the comparison's outcome
    (``best_response:ORR``) and its ``title`` names it. The cohort's counts are analysed only where they
    differ from the published ones (identical counts would give the same p and posterior twice). ``roles``:
    which comparisons are treatment contrasts (default: the study's arm factors)."""
    roles = roles or default_roles(study)
    rows = Rows()
    thresholds = tuple(dict.fromkeys(float(t) for t in analysis.thresholds.get("rate_diff", (0.0,))))
    for rd in comparisons:
        title = f"{analysis.title}: {outcome_label(rd.endpoint, study.ae_grade_labels)}"
        rows.shared = dict(analysis=analysis.id, title=title, population="all", endpoint=rd.endpoint)
        p_id = rd.sources[-1] if rd.published_p is not None else ""
        for i, g in enumerate(rd.groups):
            pct = rd.published_percent[i] if i < len(rd.published_percent) else None
            rate = pct / 100 if pct is not None else rd.events[i] / rd.totals[i]
            rows.add(quantity="rate", group=_short(g), source="published", estimate=rate, unit="proportion",
                     cohort_based=False, registry_id=rd.sources[i],
                     note=f"{rd.events[i]}/{rd.totals[i]}" + (f"; {rd.note}" if rd.note else ""))
        if rd.published_p is not None:
            rows.add(contrast=rd.contrast, quantity="p_value", source="published", estimate=rd.published_p,
                     cohort_based=False, registry_id=p_id, note=f"printed {rd.published_p_raw}")
        cohort_rd = cohort_rate_data(rd, df, study)
        same = cohort_rd is not None and (cohort_rd.events, cohort_rd.totals) == (rd.events, rd.totals)
        for data, on_cohort in ((rd, False), (None if same else cohort_rd, True)):
            if data is None:
                if not same:
                    log.warning("%s: the cohort has no column for %s; cohort rows left out", analysis.id,
                                rd.endpoint)
                continue
            rows.add(**_test_row(data, on_cohort, p_id))
            bayes = Rows({**rows.shared, "cohort_based": on_cohort, "registry_id": ";".join(rd.sources)})
            for ps in analysis.prior_sets:
                comp = compare(data, ps, analysis, study, roles, thresholds, seeds(rd.endpoint, ps, on_cohort))
                rate_rows(bayes, comp, rd.contrast, "the cohort's counts are the published counts" if same else "")
            rows.rows.extend(bayes.rows)
    return rows.rows


def summary_rows(analysis, inputs: list[SummaryInput], mcid: float, roles: TermRoles | None = None) -> list[dict]:
    """Per published HR (and its p entry, if printed) as the audit lets it be used
    (:func:`hccbayes.models.summary_audit.summary_inputs`): the published rows and, unless it is a duplicate
    or excluded, the Wald p and, per prior set of the analysis, the normal–normal posterior HR and P(HR < 1),
    P(HR < mcid). Every row carries the input's note (re-derived SE, exclusion, duplicate). ``roles``: the
    factor's prior by its role, as in the survival models (:mod:`hccbayes.models.priors.roles`); None: every
    HR gets the set's contrast prior."""
    sets = {name: with_roles(prior_set(name, mcid), roles) if roles is not None else prior_set(name, mcid)
            for name in PRIOR_SET_NAMES if name in analysis.prior_sets}
    rows = Rows()
    for item in inputs:
        entry, p_entry, y, se = item.entry, item.p_entry, item.y, item.se
        rows.shared = dict(analysis=analysis.id, title=analysis.title, population=entry["population"],
                           endpoint=entry["endpoint"], contrast=entry["factor"], cohort_based=False,
                           registry_id=entry.id, note=item.note)
        origin = f"{entry['model']} Cox HR, {entry.source}"
        rows.add(quantity="hr", source="published", estimate=entry.estimate, lower=entry.lower, upper=entry.upper,
                 interval="95% CI", unit="HR", note=_join(figure_notes(entry.estimate, entry.lower, entry.upper),
                                                          origin))
        if p_entry is not None:
            rows.add(quantity="p_value", source="published", estimate=p_entry.p, registry_id=p_entry.id,
                     note=_join(p_entry.raw, origin))
        if not item.analysed:
            continue
        where = "re-derived from the printed p" if item.status == "re-derived" else "from the printed 95% CI"
        rows.add(quantity="p_value", source="frequentist", model="wald", estimate=wald_p(y, se),
                 note=_join(f"two-sided Wald p of ln HR / SE, SE {where}", origin))
        for name, pset in sets.items():
            prior = pset.for_terms((entry["factor"],), entry["factor"])[0]
            post = normal_update(y, se, prior.mu, prior.sigma)
            med, lo, hi = post.hr_summary(CI_PROB)
            bayes = dict(**bayes_columns("summary_normal", name), diagnostics=CLOSED_FORM, unit="HR")
            rows.add(**bayes, quantity="hr", estimate=med, lower=lo, upper=hi, interval=ETI,
                     note=_join(prior_text(pset, entry["factor"], (entry["factor"],), entry["factor"]),
                                f"posterior log HR ~ N({post.mean:.4f}, {post.sd:.4f}^2)", origin))
            for t in dict.fromkeys((1.0, mcid)):
                rows.add(**bayes, quantity="hr", direction="<", threshold=t, probability=post.prob_hr_below(t),
                         note=origin)
    return rows.rows
