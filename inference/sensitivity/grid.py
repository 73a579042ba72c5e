"""Prior-sensitivity grids: every selected survival analysis refitted under each prior set.

:func:`sensitivity` fits each (analysis, model, prior set) through **one** :class:`ModelCache`: the
prior hyperparameters are model data, so analyses that share a model structure (arm PFS and arm OS
with the Weibull model, say) and every prior set of the grid cost one compilation; each further fit is
a ``with_data`` refit. Rows are the engine's own (:func:`hccbayes.inference.engine.rows_survival.bayes_rows`:
HR and CrI, P(HR < 1) and P(HR < mcid), standardised medians and RMST with their differences when the
analysis has strata), with ``source = bayes:<model>:<set>``, beside the cohort's frequentist Cox row;
each fit is also power-scaled (:mod:`.power_scaling`) — no refit — and its diagnoses become
``psense_prior`` / ``psense_likelihood`` rows.

Prior sets are data: named, custom and per-MCID sets come from :mod:`hccbayes.models.priors.sets`.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

from hccbayes.inference.engine import rows_survival as rs
from hccbayes.inference.engine.links import SurvivalLinks
from hccbayes.inference.engine.seeds import derived_seed
from hccbayes.inference.engine.table import bayes_columns, make_table
from hccbayes.inference.engine.tasks import FitJob, prefit
from hccbayes.inference.fitting.cache import FitOutcome, fit_cached, fit_hash, fit_inputs, load_fit, sample_with_gate
from hccbayes.inference.fitting.fit import ModelCache, SamplerSettings
from hccbayes.inference.sensitivity import power_scaling as psn
from hccbayes.models.priors.roles import with_roles
from hccbayes.models.priors.sets import DEFAULT_MCID, PRIOR_SET_NAMES, PriorSet, expand_prior_sets
from hccbayes.models.survival.design import survival_data
from hccbayes.models.survival.landmark import landmark_frame

log = logging.getLogger(__name__)

# ---- the grid ---------------------------------------------------------------------------------------------
@dataclass
class SensitivityResult:
    table: pd.DataFrame  # comparison-table rows (reports.table contract)
    psense: pd.DataFrame  # analysis, model, prior_set, parameter, prior, likelihood, diagnosis
    fits: dict[str, Any] = field(default_factory=dict)  # "<analysis>__<model>__<set>" -> DataTree
    compiles: int = 0
    seconds: float = 0.0
    fit_seconds: dict[str, float] = field(default_factory=dict)


def _fit(key: str, data, priors: PriorSet, spec, settings: SamplerSettings, seed: int, cache: ModelCache,
         fits_dir: Path | None, analysis: str) -> FitOutcome:
    """A fit with the engine's divergence gate; cached in ``fits_dir`` when given (read back in full,
    since power-scaling needs the log_prior and log_likelihood groups)."""
    if fits_dir is None:
        t0 = time.perf_counter()
        dt, note = sample_with_gate(data, priors, spec, settings, seed, cache)
        return FitOutcome(dt, "fitted", time.perf_counter() - t0, note)
    outcome = fit_cached(key, fits_dir, data, priors, spec, settings, seed, cache, analysis=analysis)
    if outcome.status == "cached":
        outcome.dt = load_fit(Path(fits_dir) / f"{key}.nc", fit_hash(fit_inputs(data, priors, spec, settings, seed)))
    return outcome


def _grid_jobs(a, grid, *, study, cohort, seed: int, models, settings, roles=None):
    """(model, label, FitJob) of every fit of one analysis in the grid, seeded as the engine seeds them, with
    the engine's term roles (``roles``: :mod:`hccbayes.models.priors.roles`) and landmark cohort."""
    run_settings = settings or replace(SamplerSettings(), **dict(a.sampler))
    frame = cohort if a.from_landmark is None else landmark_frame(cohort, study, a.endpoint, a.from_landmark)
    for model in (m for m in a.models if models is None or m in models):
        spec = rs.spec_for(a, model)
        data = survival_data(frame, study, spec)
        for label, priors in grid:
            priors = with_roles(priors, roles) if roles is not None else priors
            fit_seed = derived_seed(seed, a.seed if a.seed is not None else "", a.id, model, label)
            yield model, label, FitJob(f"{a.id}__{model}__{label}", a.id, data, priors, spec, run_settings,
                                       fit_seed)


def sensitivity(analyses: Sequence, prior_sets: Iterable[str] = PRIOR_SET_NAMES,
                mcids: Sequence[float] = (DEFAULT_MCID,), *, study, cohort: pd.DataFrame, seed: int = 0,
                custom: Mapping[str, PriorSet] | None = None, models: Sequence[str] | None = None,
                settings: SamplerSettings | None = None, cache: ModelCache | None = None,
                fits_dir: str | Path | None = None, power_scale: bool = True, executor=None,
                roles=None) -> SensitivityResult:
    """Refit every survival analysis of ``analyses`` (plan :class:`~hccbayes.inference.engine.plan.Analysis` values) under
    every prior set; see the module docstring. ``models`` restricts each analysis's models; ``seed`` is
    the plan seed (each fit's seed is derived from it as the engine derives it, so a named-set fit here
    is the engine's fit); ``settings`` overrides each analysis's sampler settings. ``executor`` (needs
    ``fits_dir``): run the grid's fits as gated tasks on it first (:func:`.tasks.prefit`), then read them
    from the cache. ``roles``: the plan's term roles (None: every prior set as it is, the primary term carrying
    the contrast prior)."""
    t_start = time.perf_counter()
    cache = cache if cache is not None else ModelCache()
    compiles0 = cache.compiles
    mcids = tuple(float(m) for m in mcids)
    grid = expand_prior_sets(prior_sets, mcids, custom)
    fits_dir = Path(fits_dir) if fits_dir is not None else None
    rows: list[dict] = []
    ps_frames: list[pd.DataFrame] = []
    result = SensitivityResult(pd.DataFrame(), pd.DataFrame())
    for a in analyses:
        if a.kind != "survival":
            log.info("sensitivity: skipping %s (%s analyses have closed-form prior grids)", a.id, a.kind)
    survival = [replace(a, thresholds={**a.thresholds, "hr": tuple(dict.fromkeys((1.0, *mcids)))})
                for a in analyses if a.kind == "survival"]
    job_kw = dict(study=study, cohort=cohort, seed=seed, models=models, settings=settings, roles=roles)
    if executor is not None:
        if fits_dir is None:
            raise ValueError("an executor stores its fits in the cache: give fits_dir")
        prefit([job for a in survival for _, _, job in _grid_jobs(a, grid, **job_kw)], fits_dir, executor)
    for a in survival:
        rows_a = rs.analysis_rows(a)
        sub = cohort
        for col, val in a.population.items():
            sub = sub[sub[col].astype(str) == str(val)]
        rs.frequentist_rows(rows_a, a, sub, study, SurvivalLinks())
        for model, label, job in _grid_jobs(a, grid, **job_kw):
            outcome = _fit(job.key, job.data, job.priors, job.spec, job.settings, job.seed, cache, fits_dir, a.id)
            result.fits[job.key] = outcome.dt
            result.fit_seconds[job.key] = outcome.seconds
            rs.bayes_rows(rows_a, a, study, job.data, job.spec, outcome, label, SurvivalLinks(), priors=job.priors)
            if power_scale:
                ps = psn.power_scaling(outcome.dt)
                base = dict(**bayes_columns(model, label), cohort_based=True, diagnostics_ok=outcome.diagnostics.ok)
                rows_a.extend(psn.psense_rows(ps, base))
                ps_frames.append(ps.assign(analysis=a.id, model=model, prior_set=label))
        rows.extend(rows_a.rows)
    result.table = make_table(rows)
    cols = ["analysis", "model", "prior_set", *psn.PSENSE_COLUMNS]
    result.psense = pd.concat(ps_frames, ignore_index=True)[cols] if ps_frames else pd.DataFrame(columns=cols)
    result.compiles = cache.compiles - compiles0
    result.seconds = time.perf_counter() - t_start
    log.info("sensitivity grid: %d fits, %d compile(s), %.1f s", len(result.fits), result.compiles, result.seconds)
    return result


def hr_grid(table: pd.DataFrame, contrast: str | None = None, study=None) -> pd.DataFrame:
    """A wide view of a sensitivity table: per (analysis, model, prior set) the HR and CrI of the
    contrast and P(HR < t) for each threshold — the one-screen summary the CLI prints. HR rows name
    their contrast by its groups (``B vs A``); ``study`` maps the power-scaling rows' parameter
    names (``log_hr[treated]``) to the same labels."""
    bayes = table[table["source"].str.startswith("bayes:")]
    hr = bayes[(bayes["quantity"] == "hr") & bayes["probability"].isna()]
    if contrast is not None:
        hr = hr[hr["contrast"] == contrast]
    out = hr[["analysis", "model", "prior_set", "contrast", "estimate", "lower", "upper", "diagnostics_ok"]]
    out = out.rename(columns={"estimate": "hr", "lower": "hr_lower", "upper": "hr_upper"}).copy()
    probs = bayes[(bayes["quantity"] == "hr") & bayes["probability"].notna()]
    keys = ["analysis", "model", "prior_set", "contrast"]
    for t, g in probs.groupby("threshold"):
        out = out.merge(g[keys + ["probability"]].rename(columns={"probability": f"P(HR<{t:g})"}), on=keys, how="left")
    ps = table[table["quantity"] == "psense_prior"]
    ps = pd.DataFrame({"analysis": ps["analysis"], "model": ps["model"], "prior_set": ps["prior_set"],
                       "parameter": ps["contrast"], "psense": ps["note"].str.split("diagnosis: ").str[-1]})
    terms = ps["parameter"].str.extract(r"^log_hr\[(.*)\]$")[0]
    ps["parameter"] = terms.map(lambda t: rs.contrast_label(study, t) if isinstance(t, str) else None)
    out["parameter"] = out["contrast"]
    out = out.merge(ps.dropna(subset=["parameter"]), on=["analysis", "model", "prior_set", "parameter"], how="left")
    return out.drop(columns="parameter").reset_index(drop=True)

