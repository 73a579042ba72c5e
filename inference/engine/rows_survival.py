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

from hccbayes.inference.engine.groups import Groups, horizon_for, strata_groups
from hccbayes.inference.engine.links import SurvivalLinks
from hccbayes.inference.engine.rows_groups import contrast_rows, group_rows, summary_row
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
                        n_intervals=analysis.n_intervals, baseline=analysis.baseline, missing=analysis.missing,
                        per_unit=analysis.per_unit)


def level_labels(study, term: str, terms: tuple[str, ...] = ()) -> tuple[str, str]:
    """(label of indicator 0, label of indicator 1) of a factor: its column's level names, the arm names,
    'X ≤ c' / 'X > c' for a threshold factor, 'X: no' / 'X: yes' for a 0/1 column. Other factors of the same
    column among ``terms`` (the lev and lev5fu of a three-arm trial) take their levels out of indicator 0:
    lev = 0 is then the reference arm, Obs."""
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
    siblings = {str(v) for t in terms if t != term and t in study.factors
                and study.factors[t].column == factor.column for v in study.factors[t].levels}
    others = [lv for lv in others if lv not in siblings] or others
    return (others[0] if len(others) == 1 else f"not {one}"), one


def contrast_label(study, term: str, terms: tuple[str, ...] = ()) -> str:
    """'B vs A', 'Marker > 5.0 vs Marker ≤ 5.0', 'Lev vs Obs' (with lev5fu among ``terms``) ... — the two
    groups a term's hazard ratio compares; for a continuous column its label and scale
    (:func:`continuous_label`) or the term itself when the study does not declare it."""
    if study is None or term not in study.factors:
        return term
    zero, one = level_labels(study, term, terms)
    factor = study.factors[term]
    if factor.above is None and factor.column != study.arm_column \
            and study.column(factor.column).type == "categorical":
        label = study.column(factor.column).label
        zero, one = f"{label} {zero}", f"{label} {one}"
    return f"{one} vs {zero}"


def continuous_label(study, term: str, sd: float | None, per_unit: bool) -> str:
    """'Age, per SD (10.3 years)' or 'Age, per unit (years)': what the hazard ratio of a continuous term is
    per. The column's label and unit from the study (the term itself when the study does not declare it)."""
    column = next((c for c in getattr(study, "columns", ()) if c.name == term), None)
    label, unit = (column.label, column.unit) if column is not None else (term, "")
    if per_unit:
        return f"{label}, per unit ({unit})" if unit else f"{label}, per unit"
    if sd is None:
        return f"{label}, per SD"
    return f"{label}, per SD ({sd:#.3g}{' ' + unit if unit else ''})"


def term_label(study, a, term: str, scale) -> str:
    """The contrast label of a term of analysis ``a``: its factor's two groups (:func:`contrast_label`), or
    for a continuous term what its HR is per (:func:`continuous_label`; ``scale``: term -> (mean, sd))."""
    if term in a.continuous:
        return continuous_label(study, term, scale.get(term, (None, None))[1], term in a.per_unit)
    return contrast_label(study, term, a.terms)


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
                   upper=e.upper, unit=study.time_unit, cohort_based=False, registry_id=e.id,
                   interval="95% CI" if e.kind == "median_ci" else "interval as printed", note=e.source)


def frequentist_rows(rows: Rows, a, sub, study, links: SurvivalLinks, note: str = "") -> None:
    """Cox HR and p of every term of analysis ``a`` on ``sub`` (its patients: population filter and
    missing-value rule), continuous terms per SD as in the models (or per unit); with strata, KM medians per
    level (both CI methods) and the log-rank p. ``note``: what the missing-value rule did."""
    ep = study.endpoint(a.endpoint)
    freq = dict(source="frequentist", cohort_based=True)
    scale = {t: (float(sub[t].mean()), float(sub[t].std(ddof=1))) for t in a.continuous}
    sub = sub.assign(**{t: (sub[t] - m) / sd for t, (m, sd) in scale.items() if t not in a.per_unit and sd > 0})
    cox = cox_fit(sub, ep.time, ep.event, list(a.terms),
                  model="univariable" if len(a.terms) == 1 else "multivariable")
    for r in cox.itertuples():
        rid = _ids(links.hr.get(r.term, []))
        contrast = term_label(study, a, r.term, scale)
        rows.add(**freq, contrast=contrast, quantity="hr", model="cox", estimate=r.hr, lower=r.lower,
                 upper=r.upper, interval="95% CI (Wald)", unit="HR", registry_id=rid,
                 note="; ".join(filter(None, [f"Efron ties; n={r.n}, events={r.events}", note])))
        rows.add(**freq, contrast=contrast, quantity="p_value", model="cox", estimate=r.p, registry_id=rid,
                 note="two-sided Wald")
    if not a.strata:
        return
    for method in ("log", "spss"):
        km = km_medians(sub, ep.time, ep.event, group=a.strata, ci_method=method)
        for r in km.itertuples():
            rows.add(**freq, quantity="median", group=str(r.group), model="km", estimate=r.median, lower=r.lower,
                     upper=r.upper, interval=CI_LABEL[method], unit=study.time_unit,
                     registry_id=_ids(links.km.get(str(r.group), [])), note=f"n={r.n}, events={r.events}")
    lr = logrank(sub, ep.time, ep.event, a.strata).iloc[0]
    rows.add(**freq, contrast=str(lr["groups"]), quantity="p_value", model="logrank", estimate=float(lr["p"]),
             note=f"chi2={lr['chisq']:.3f}, df={int(lr['df'])}")


def diagnostics_text(outcome: FitOutcome) -> str:
    d = outcome.diagnostics
    text = (f"R-hat {d.max_rhat:.3f}; ESS bulk {d.min_ess_bulk:.0f}, tail {d.min_ess_tail:.0f}; "
            f"divergences {d.divergences}; E-BFMI {d.min_bfmi:.2f}; {d.chains}x{d.draws} draws")
    return text if d.ok else text + " — FAILED: " + "; ".join(d.problems())


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
               links: SurvivalLinks, note: str = "", priors=None) -> None:
    """HR and P(HR < t) of every term (the HR's note names the term's prior when ``priors`` is given); with
    strata, standardised medians, RMST and landmark survival per group (or regimen), their differences and
    P(Δ > t) (:mod:`.rows_groups`). ``note``: what the missing-value rule did."""
    dt = outcome.dt
    data_notes = json.loads(dt.attrs.get("data_notes", "[]"))  # e.g. no events in a level (see design.py)
    common = dict(**fit_columns(outcome, spec.model, prior_set), cohort_based=True,
                  note="; ".join(filter(None, [outcome.note, *data_notes, note])))
    hr = q.hazard_ratios(dt)
    for term in a.terms:
        x = hr.sel(term=term)
        rid = _ids(links.hr.get(term, []))
        contrast = term_label(study, a, term, data.scale)
        prior = prior_text(priors, term, tuple(data.terms), spec.primary) if priors is not None else ""
        summary_row(rows, {**common, "note": "; ".join(filter(None, [prior, common["note"]]))}, x, "hr", "HR",
                    contrast=contrast, registry_id=rid)
        for t in a.thresholds.get("hr", ()):
            rows.add(**common, contrast=contrast, quantity="hr", probability=q.prob_below(x, t), threshold=t,
                     direction="<", unit="HR", registry_id=rid)
    if not a.strata:
        return
    unit = study.time_unit
    groups = strata_for(a, study, data)
    members = groups.members(data) if groups else {g: data.regimen == r for r, g in enumerate(data.regimen_names)}
    horizon, horizon_note = horizon_for(a, members, data, unit)
    follow_up = float(data.time.max())
    grid = q.time_grid(data, (horizon, *a.landmarks), end=max(follow_up, horizon))
    draws, thin_note = q.curve_draws(dt, data, grid)
    curve_common = {**common, "note": "; ".join(filter(None, [common["note"], horizon_note, thin_note]))}
    km_ids = lambda g: _ids(links.km.get(g, []))
    if a.regimen_effects:
        curves = q.regimen_curves(draws, data, spec, a.contrast_term, grid)
        group_rows(rows, curve_common, a, curves, list(data.regimen_names), "regimen", horizon, follow_up, unit,
                   km_ids)
        return
    curves = q.group_curves(draws, data, spec, groups.settings, grid)
    med, rm_ = group_rows(rows, curve_common, a, curves, list(groups.settings), "group", horizon, follow_up, unit,
                          km_ids)
    labels = {groups.pairs[0]: contrast_label(study, groups.single, a.terms)} if groups.single else {}
    contrast_rows(rows, curve_common, a, dt, curves, med, rm_, groups, labels, horizon, unit)


def strata_for(a, study, data) -> Groups | None:
    """The groups of analysis ``a`` (:func:`hccbayes.inference.engine.groups.strata_groups`)."""
    if getattr(a, "regimen_effects", False):
        return None
    return strata_groups(study, a.strata, tuple(data.terms), level_labels, getattr(a, "contrasts", ()))
