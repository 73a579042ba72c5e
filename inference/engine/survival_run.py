"""One survival analysis of a run: its fits (cached, hashed), its rows and what its figures plot.

:func:`run_survival` makes the analysis' ``published`` and ``frequentist`` rows, then fits each model under
each prior set (:func:`fit_jobs`; fits an executor made earlier are read from the cache), adds the
Bayesian rows of each fit, hands each fit to the run's :class:`~.curves.FigureData` and, with
``tipping_points``, searches the tipping points from the first model's fit under the primary prior set
(:mod:`hccbayes.inference.sensitivity.tipping_run`). The columns every row of a fit shares (source, model,
prior set, diagnostics) are kept per fit key in :attr:`Context.fit_columns`, for the rows made later from
the fit's checks.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from hccbayes.errors import PlanError, Problem
from hccbayes.inference.engine import links as lk
from hccbayes.inference.engine import rows_survival as rs
from hccbayes.inference.engine.curves import FigureData
from hccbayes.inference.engine.frames import analysis_frame
from hccbayes.inference.engine.groups import GroupError, horizon_for
from hccbayes.inference.engine.plan import Plan
from hccbayes.inference.engine.seeds import derived_seed
from hccbayes.inference.engine.table import Rows
from hccbayes.inference.engine.tasks import FitJob
from hccbayes.inference.fitting.cache import FitOutcome, fit_cached
from hccbayes.inference.fitting.fit import ModelCache, SamplerSettings
from hccbayes.inference.sensitivity.tipping import tipping_rows
from hccbayes.inference.sensitivity.tipping_run import TippingJob
from hccbayes.models.priors.roles import TermRoles, default_roles, with_roles
from hccbayes.models.priors.sets import resolve_prior_set
from hccbayes.models.survival.design import SpecError, analysis_population, survival_data
from hccbayes.models.survival.landmark import landmark_note, naive_note, post_baseline_terms

log = logging.getLogger(__name__)


@dataclass
class Context:
    plan: Plan
    study: Any
    df: pd.DataFrame
    registry: Any
    fits_dir: Path
    quick: bool
    cache: ModelCache
    figures: FigureData
    prefitted: dict[str, float] = field(default_factory=dict)  # key -> seconds of fits run on an executor
    posteriors: dict[str, Any] = field(default_factory=dict)  # key -> posterior a worker sent back (until used)
    fit_columns: dict[str, dict] = field(default_factory=dict)  # key -> columns every row of the fit shares

    @property
    def roles(self) -> TermRoles:
        """The plan's term roles, else the study's arm factors as the treatment contrasts."""
        return self.plan.roles or default_roles(self.study)

    @property
    def default_prior_set(self) -> str:
        return self.plan.quick_prior_set

    def prior_sets(self, a) -> tuple[str, ...]:
        return (self.plan.quick_prior_set,) if self.quick else a.prior_sets

    def primary_prior_set(self, a) -> str:
        """The default prior set when the analysis uses it, else its first: the set of its LOO-only
        model fits and the start of its tipping-point search."""
        sets = self.prior_sets(a)
        return self.default_prior_set if self.default_prior_set in sets else sets[0]

    def settings(self, a) -> SamplerSettings:
        s = replace(SamplerSettings(), **dict(a.sampler))
        return replace(s, **dict(self.plan.quick_sampler)) if self.quick else s

    def seed(self, a, *parts) -> int:
        return derived_seed(self.plan.seed, a.seed if a.seed is not None else "", a.id, *parts)


def fitted_models(a) -> tuple[str, ...]:
    """The models of a survival analysis: its ``models`` and then any ``loo_models`` not among them."""
    return tuple(dict.fromkeys((*a.models, *a.loo_models)))


def analysis_notes(study, a, df: pd.DataFrame, sub: pd.DataFrame) -> str:
    """What every row of an analysis says about its clock — the landmark and its patients (``df`` the analysis'
    population from time zero, ``sub`` from the landmark), or that a post-baseline covariate is used as if known
    at time zero (the naive analysis) — and where its terms come from (:mod:`.selection`)."""
    if a.from_landmark is not None:
        clock = landmark_note(study, a.endpoint, a.from_landmark, len(df), len(sub))
    else:
        measured = post_baseline_terms(study, a.terms)
        clock = naive_note(study, measured) if measured else ""
    return "; ".join(filter(None, (clock, a.selection_note)))


def preflight(plan: Plan, study, df) -> None:
    """Every survival analysis' design can be built on the cohort, or one :class:`PlanError` for all."""
    problems = []
    for a in plan.analyses:
        if a.kind != "survival":
            continue
        for model in fitted_models(a):
            try:
                data = survival_data(analysis_frame(df, study, a), study, rs.spec_for(a, model))
            except SpecError as err:
                problems.append(Problem(str(plan.path or "<plan>"), f"key 'analyses.{a.id}': {err}",
                                        "drop that term or change the population of this analysis"))
                break
        else:
            problems.extend(_group_problems(plan, a, study, data))
    if problems:
        raise PlanError(problems, summary=f"{len(problems)} analysis(es) cannot be run on the cohort")


def _group_problems(plan: Plan, a, study, data) -> list[Problem]:
    """The groups and RMST horizon of an analysis with strata, checked on its data (one problem or none)."""
    if not a.strata:
        return []
    try:
        groups = rs.strata_for(a, study, data)
        members = groups.members(data) if groups else {r: data.regimen == i for i, r in enumerate(data.regimen_names)}
        horizon_for(a, members, data, study.time_unit)
    except GroupError as err:
        return [Problem(str(plan.path or "<plan>"), f"key 'analyses.{a.id}': {err}", "see the message")]
    return []


def fit_jobs(ctx: Context, a):
    """(model, prior set, FitJob) of every fit of a survival analysis, in the engine's order: each of
    ``models`` under each prior set, then each other ``loo_models`` model under the analysis' primary prior
    set only (the fits that LOO compares)."""
    settings = ctx.settings(a)
    for model in fitted_models(a):
        spec = rs.spec_for(a, model)
        data = survival_data(analysis_frame(ctx.df, ctx.study, a), ctx.study, spec)
        for ps in ctx.prior_sets(a) if model in a.models else (ctx.primary_prior_set(a),):
            priors = with_roles(resolve_prior_set(ps, a.mcid, ctx.plan.custom_prior_sets), ctx.roles)
            yield model, ps, FitJob(f"{a.id}__{model}__{ps}", a.id, data, priors, spec, settings,
                                    ctx.seed(a, model, ps))


def run_survival(ctx: Context, a, status: dict) -> list[dict]:
    """The rows of one survival analysis (see the module docstring); ``status`` gets each fit's record."""
    links = lk.survival_links(a, ctx.registry)
    rows = rs.analysis_rows(a)
    population = analysis_population(ctx.df, rs.spec_for(a, a.models[0]))
    sub = analysis_frame(population.frame, ctx.study, a)
    rows.shared["note"] = analysis_notes(ctx.study, a, population.frame, sub)  # each row adds its own note to it
    if a.from_landmark is None and post_baseline_terms(ctx.study, a.terms):
        rows.shared["title"] = f"{a.title} (naive analysis from time zero)"
    rs.published_rows(rows, ctx.study, links)
    rs.frequentist_rows(rows, a, sub, ctx.study, links, population.frequentist_note)
    for model, ps, job in fit_jobs(ctx, a):
        if job.key in ctx.posteriors:  # computed by a worker process in this run, its posterior sent back
            dt = ctx.posteriors.pop(job.key)
            outcome = FitOutcome(dt, "fitted", ctx.prefitted[job.key], dt.attrs.get("refit", ""))
        else:
            outcome = fit_cached(job.key, ctx.fits_dir, job.data, job.priors, job.spec, job.settings, job.seed,
                                 ctx.cache, analysis=a.id)
        if job.key in ctx.prefitted:  # computed by an executor in this run, then read from the cache
            outcome.status, outcome.seconds = "fitted", ctx.prefitted[job.key]
        status["fits"][job.key] = {"status": outcome.status, "seed": job.seed,
                                   "seconds": round(outcome.seconds, 3), "fit_hash": outcome.dt.attrs["fit_hash"],
                                   "diagnostics": outcome.diagnostics.to_dict(), "note": outcome.note}
        ctx.fit_columns[job.key] = rs.fit_columns(outcome, model, ps)
        rs.bayes_rows(rows, a, ctx.study, job.data, job.spec, outcome, ps, links, population.note, job.priors)
        ctx.figures.add(a, ps, outcome.dt, job.data, job.spec)
    if a.tipping_points:
        _tipping(ctx, a, rows, status)
    return rows.rows


def tipping_job(ctx: Context, a) -> tuple[TippingJob, FitJob] | None:
    """The tipping-point search of an analysis that asks for one (else None) and the fit it starts from: the
    first model under the primary prior set — the search refits that fit's data and spec under other priors."""
    if not a.tipping_points:
        return None
    model, ps = a.models[0], ctx.primary_prior_set(a)
    job = next(j for m, p, j in fit_jobs(ctx, a) if (m, p) == (model, ps))
    return TippingJob(a.id, job.data, job.spec, job.priors, ps, job.settings, ctx.seed(a, model, "tipping"), a.mcid,
                      ctx.fits_dir.parent), job


def _tipping(ctx: Context, a, rows: Rows, status: dict) -> None:
    """Tipping points of the contrast (:func:`tipping_job`; cached in tipping/, searched there by a worker
    process when the run has one); its rows carry the start fit's columns."""
    t0 = time.perf_counter()
    search, job = tipping_job(ctx, a)
    points, cached = search.search(ctx.cache)
    seconds = time.perf_counter() - t0
    if search.key in ctx.prefitted:  # searched by an executor in this run, then read here
        cached, seconds = False, ctx.prefitted[search.key]
    base = dict(contrast=rs.contrast_label(ctx.study, job.spec.contrast_term, a.terms), cohort_based=True, unit="HR",
                **ctx.fit_columns[job.key])
    rows.extend(tipping_rows(points, base, a.mcid))
    status["tipping"] = {"model": job.spec.model, "prior_set": search.prior_set, "cached": cached,
                         "seconds": round(seconds, 3), "evaluations": sum(p.evaluations for p in points)}
