"""Comparison-table rows of one survival analysis: published, frequentist and Bayesian.

* ``published``: the linked registry entries (Cox HR with 95% CI and p; KM medians), each with its
  ``registry_id``;
* ``frequentist`` on the cohort: Cox HR (Efron, Wald 95% CI) and p of every term; with ``strata``,
  KM medians per level with both CI methods (R's log CI and the SPSS-style CI) and the log-rank p;
* ``bayes:<model>:<prior set>`` on the cohort: HR of every term and P(HR < t) at the plan's
  thresholds; with ``strata`` on the primary term, standardised medians and RMST(horizon) per level,
  their differences and P(Δ > t); with regimen effects, standardised medians and RMST per regimen.

Bayesian quantities come from :mod:`hccbayes.models.survival.quantities`; fits from :func:`fit_cached`.
"""
from __future__ import annotations

import json
import logging

import numpy as np

from hccbayes.inference.engine.links import SurvivalLinks
from hccbayes.inference.engine.table import Rows, bayes_columns
from hccbayes.inference.fitting.cache import FitOutcome
from hccbayes.inference.frequentist.cox import cox_fit
from hccbayes.inference.frequentist.survival import km_medians, logrank
from hccbayes.models.survival import quantities as q
from hccbayes.models.survival.design import SurvivalSpec

log = logging.getLogger(__name__)

ETI = "95% ETI"
CI_LABEL = {"log": "95% CI (log)", "spss": "95% CI (SPSS-style)"}


def spec_for(analysis, model: str) -> SurvivalSpec:
    return SurvivalSpec(analysis.endpoint, terms=analysis.terms, primary=analysis.primary,
                        continuous=analysis.continuous, population=analysis.population, model=model,
                        regimen_effects=analysis.regimen_effects, cuts=analysis.cuts,
                        n_intervals=analysis.n_intervals, baseline=analysis.baseline)


def level_labels(study, term: str) -> tuple[str, str]:
    """(label of indicator 0, label of indicator 1) of a factor: its column's level names, the arm names,
    'X ≤ c' / 'X > c' for a threshold factor, 'X: no' / 'X: yes' for a 0/1 column."""
    factor = study.factors[term]
    if factor.above is not None:
        label = study.column(factor.column).label
        return f"{label} ≤ {factor.above:g}", f"{label} > {factor.above:g}"
    one = str(factor.levels[0])
    if factor.column == study.arm_column:
        others = [a for a in study.arm_names if a != one]
    else:
        column = study.column(factor.column)
        if column.type == "binary":
            return f"{column.label}: {'no' if one == '1' else 'yes'}", f"{column.label}: {'yes' if one == '1' else 'no'}"
        others = [lv for lv in column.levels if lv != one]
    return (others[0] if len(others) == 1 else f"not {one}"), one


def contrast_label(study, term: str) -> str:
    """'TKI+ICI vs TKI', 'ANRI > 5.4 vs ANRI ≤ 5.4', ... — the two groups a term's hazard ratio compares;
    the term itself when the study does not declare it as a factor (e.g. a continuous column)."""
    if study is None or term not in study.factors:
        return term
    zero, one = level_labels(study, term)
    factor = study.factors[term]
    if factor.above is None and factor.column != study.arm_column \
            and study.column(factor.column).type == "categorical":
        label = study.column(factor.column).label
        zero, one = f"{label} {zero}", f"{label} {one}"
    return f"{one} vs {zero}"


def analysis_rows(analysis) -> Rows:
    """The rows of one analysis: each carries its id, title, population and endpoint."""
    return Rows(dict(analysis=analysis.id, title=analysis.title, population=analysis.population_label,
                     endpoint=getattr(analysis, "endpoint", "")))


def _ids(entries) -> str:
    return ";".join(e.id for e in entries)


def published_rows(rows: Rows, study, links: SurvivalLinks) -> None:
    for term, entries in links.hr.items():
        contrast = contrast_label(study, term)
        for e in entries:
            rows.add(contrast=contrast, quantity="hr", source="published", estimate=e.estimate, lower=e.lower,
                     upper=e.upper, interval="95% CI", unit="HR", cohort_based=False, registry_id=e.id,
                     note=e.source)
        for e in links.p.get(term, []):
            rows.add(contrast=contrast, quantity="p_value", source="published", estimate=e.p, cohort_based=False,
                     registry_id=e.id, note=f"printed {e.raw}")
    for group, entries in links.km.items():
        for e in entries:
            rows.add(quantity="median", group=group, source="published", estimate=e.estimate, lower=e.lower,
                   upper=e.upper, unit="months", cohort_based=False, registry_id=e.id,
                   interval="95% CI" if e.kind == "median_ci" else "interval as printed", note=e.source)


def frequentist_rows(rows: Rows, a, sub, study, links: SurvivalLinks) -> None:
    """Cox HR and p of every term of analysis ``a`` on ``sub`` (its population of the cohort); with strata,
    KM medians per level (both CI methods) and the log-rank p."""
    ep = study.endpoint(a.endpoint)
    freq = dict(source="frequentist", cohort_based=True)
    cox = cox_fit(sub, ep.time, ep.event, list(a.terms),
                  model="univariable" if len(a.terms) == 1 else "multivariable")
    for r in cox.itertuples():
        rid = _ids(links.hr.get(r.term, []))
        contrast = contrast_label(study, r.term)
        rows.add(**freq, contrast=contrast, quantity="hr", model="cox", estimate=r.hr, lower=r.lower,
                 upper=r.upper, interval="95% CI (Wald)", unit="HR", registry_id=rid,
                 note=f"Efron ties; n={r.n}, events={r.events}")
        rows.add(**freq, contrast=contrast, quantity="p_value", model="cox", estimate=r.p, registry_id=rid,
                 note="two-sided Wald")
    if not a.strata:
        return
    for method in ("log", "spss"):
        km = km_medians(sub, ep.time, ep.event, group=a.strata, ci_method=method)
        for r in km.itertuples():
            rows.add(**freq, quantity="median", group=str(r.group), model="km", estimate=r.median, lower=r.lower,
                     upper=r.upper, interval=CI_LABEL[method], unit="months",
                     registry_id=_ids(links.km.get(str(r.group), [])), note=f"n={r.n}, events={r.events}")
    lr = logrank(sub, ep.time, ep.event, a.strata).iloc[0]
    rows.add(**freq, contrast=str(lr["groups"]), quantity="p_value", model="logrank", estimate=float(lr["p"]),
             note=f"chi2={lr['chisq']:.3f}, df={int(lr['df'])}")


def diagnostics_text(outcome: FitOutcome) -> str:
    d = outcome.diagnostics
    text = (f"R-hat {d.max_rhat:.3f}; ESS bulk {d.min_ess_bulk:.0f}, tail {d.min_ess_tail:.0f}; "
            f"divergences {d.divergences}; E-BFMI {d.min_bfmi:.2f}; {d.chains}x{d.draws} draws")
    return text if d.ok else text + " — FAILED: " + "; ".join(d.problems())


def _summary(rows: Rows, common: dict, x, quantity: str, unit: str, **kw) -> None:
    s = q.summarise(x)
    v = np.asarray(x.values, float)
    missing = float(np.mean(~np.isfinite(v)))
    note = common.get("note", "")
    if missing > 0:
        note = "; ".join(filter(None, [note, f"not reached within the grid in {missing:.1%} of draws"]))
    rows.add(**{**common, "note": note}, quantity=quantity, estimate=s["estimate"], lower=s["lower"],
           upper=s["upper"], interval=ETI, unit=unit, **kw)


def fit_columns(outcome: FitOutcome, model: str, prior_set: str) -> dict:
    """The columns every row drawn from one MCMC fit shares: its source, model, prior set and diagnostics."""
    return dict(**bayes_columns(model, prior_set), diagnostics_ok=outcome.diagnostics.ok,
                diagnostics=diagnostics_text(outcome))


def prior_text(priors, term: str, terms: tuple[str, ...], primary: str | None) -> str:
    """'prior: log HR ~ Normal(0, 0.5605) (prognostic, shrinkage)' — the prior a fit gave a term."""
    if hasattr(priors, "describe"):
        return f"prior: log HR ~ {priors.describe(term)}"
    p = priors.for_terms(terms, primary)[terms.index(term)]
    return f"prior: log HR ~ Normal({p.mu:.4g}, {p.sigma:.4g})"


def bayes_rows(rows: Rows, a, study, data, spec: SurvivalSpec, outcome: FitOutcome, prior_set: str,
               links: SurvivalLinks, priors=None) -> None:
    """HR and P(HR < t) of every term (the HR's note names the term's prior when ``priors`` is given); with
    strata, standardised medians and RMST per level (or regimen), their differences and P(Δ > t)."""
    dt = outcome.dt
    data_notes = json.loads(dt.attrs.get("data_notes", "[]"))  # e.g. no events in a level (see design.py)
    common = dict(**fit_columns(outcome, spec.model, prior_set), cohort_based=True,
                  note="; ".join(filter(None, [outcome.note, *data_notes])))
    hr = q.hazard_ratios(dt)
    for term in a.terms:
        x = hr.sel(term=term)
        rid = _ids(links.hr.get(term, []))
        contrast = contrast_label(study, term)
        prior = prior_text(priors, term, tuple(data.terms), spec.primary) if priors is not None else ""
        _summary(rows, {**common, "note": "; ".join(filter(None, [prior, common["note"]]))}, x, "hr", "HR",
                 contrast=contrast, registry_id=rid)
        for t in a.thresholds.get("hr", ()):
            rows.add(**common, contrast=contrast, quantity="hr", probability=q.prob_below(x, t), threshold=t,
                     direction="<", unit="HR", registry_id=rid)
    if not a.strata:
        return
    term = a.contrast_term
    if a.regimen_effects:
        curves = q.regimen_curves(dt, data, spec, term)
        groups = [str(g) for g in curves["regimen"].values]
        dim = "regimen"
    else:
        curves = q.standardised_curves(dt, data, spec, term)
        groups = list(level_labels(study, term))
        dim = "level"
    med, rm_ = q.median_survival(curves), q.rmst(curves, a.horizon)
    for i, g in enumerate(groups):
        sel = {dim: curves[dim].values[i]}
        _summary(rows, common, med.sel(sel), "median", "months", group=g, registry_id=_ids(links.km.get(g, [])))
        _summary(rows, common, rm_.sel(sel), "rmst", "months", group=g, horizon=a.horizon)
    if a.regimen_effects:
        return
    contrast = contrast_label(study, term)  # the HR's own label: median and RMST differences are the same comparison
    for name, x, horizon in (("median_diff", med.sel(level=1) - med.sel(level=0), np.nan),
                             ("rmst_diff", rm_.sel(level=1) - rm_.sel(level=0), a.horizon)):
        _summary(rows, common, x, name, "months", contrast=contrast, horizon=horizon)
        for t in a.thresholds.get(name, ()):
            rows.add(**common, contrast=contrast, quantity=name, probability=q.prob_above(x, t), threshold=t,
                     direction=">", unit="months", horizon=horizon)
