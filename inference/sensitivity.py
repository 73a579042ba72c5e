"""Prior-sensitivity grids: every selected survival analysis refitted under each prior set.

:func:`sensitivity` fits each (analysis, model, prior set) through **one** :class:`ModelCache`: the
prior hyperparameters are model data, so analyses that share a model structure (arm PFS and arm OS
with the Weibull model, say) and every prior set of the grid cost one compilation; each further fit is
a ``with_data`` refit. Rows are the engine's own (:func:`hccbayes.inference.rows_survival.bayes_rows`:
HR and CrI, P(HR < 1) and P(HR < mcid), standardised medians and RMST with their differences when the
analysis has strata), with ``source = bayes:<model>:<set>``, beside the cohort's frequentist Cox row;
each fit is also power-scaled (:mod:`.power_scaling`) — no refit — and its diagnoses become
``psense_prior`` / ``psense_likelihood`` rows.

Prior sets are data. Besides the five named sets (:mod:`hccbayes.models.priors`), a plan may declare
its own under a top-level ``prior_sets`` table::

    [prior_sets.trial_informed]
    description = "log-HR prior from a previous trial"      # optional
    contrast = { family = "normal", mu = -0.2, sigma = 0.3 }  # log-HR prior of the primary contrast
    other = { family = "normal", mu = 0.0, sigma = 1.0 }      # optional; default Normal(0, 1)
    baseline = { intercept_sigma = 2.0 }                      # optional BaselinePriors overrides

:func:`custom_prior_sets` parses that table (every problem at once, as a PlanError) and
:func:`resolve_prior_set` is the one lookup — custom set, else named set at the analysis's MCID — that
the run engine can call in place of ``prior_set(name, mcid)``. With several MCIDs the MCID-dependent
sets (skeptical, enthusiastic, pessimistic) are expanded to ``<set>_mcid<value>``.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

from hccbayes.errors import PlanError, Problem
from hccbayes.inference import power_scaling as psn
from hccbayes.inference import rows_survival as rs
from hccbayes.inference.fit import ModelCache, SamplerSettings
from hccbayes.inference.links import SurvivalLinks
from hccbayes.inference.runs import FitOutcome, fit_cached, fit_hash, fit_inputs, load_fit, sample_with_gate
from hccbayes.models.design import survival_data
from hccbayes.models.priors import DEFAULT_MCID, PRIOR_SET_NAMES, PriorSet, prior_set
from hccbayes.reports.table import make_table

log = logging.getLogger(__name__)

MCID_SETS = ("skeptical", "enthusiastic", "pessimistic")  # the named sets whose contrast prior uses the MCID
EFFECT_KEYS = ("contrast", "other")


# ---- prior sets as plan data ----------------------------------------------------------------------------
def custom_prior_sets(table: Mapping[str, Any], fname: str = "<plan>") -> dict[str, PriorSet]:
    """Parse a plan's ``[prior_sets.<name>]`` tables into PriorSets (see the module docstring)."""
    problems: list[Problem] = []
    out: dict[str, PriorSet] = {}

    def bad(key: str, message: str, fix: str) -> None:
        problems.append(Problem(fname, f"key 'prior_sets.{key}': {message}", fix))

    if not isinstance(table, Mapping):
        raise PlanError(Problem(fname, "key 'prior_sets': must be a table of tables",
                                "write [prior_sets.my_set] with contrast = { family = \"normal\", ... }"))
    for name, body in table.items():
        if name in PRIOR_SET_NAMES:
            bad(name, "redefines a named prior set", "give the custom set another name")
            continue
        if not isinstance(body, Mapping) or "contrast" not in body:
            bad(name, "needs a contrast prior", 'write contrast = { family = "normal", mu = 0.0, sigma = 0.5 }')
            continue
        unknown = sorted(set(body) - {"description", "baseline", "mcid", *EFFECT_KEYS})
        if unknown:
            bad(f"{name}.{unknown[0]}", "unknown key", "use contrast, other, baseline, description, mcid")
            continue
        effects = {k: dict(body.get(k, {"family": "normal", "mu": 0.0, "sigma": 1.0})) for k in EFFECT_KEYS}
        for k, prior in effects.items():
            sigma = prior.get("sigma")
            if prior.get("family") != "normal" or set(prior) != {"family", "mu", "sigma"}:
                bad(f"{name}.{k}", "log-HR priors are normal: {family, mu, sigma}",
                    f'write {k} = {{ family = "normal", mu = 0.0, sigma = 1.0 }}')
            elif not isinstance(sigma, (int, float)) or isinstance(sigma, bool) or not sigma > 0:
                bad(f"{name}.{k}.sigma", f"{sigma!r} is not a positive number", "set sigma > 0")
            else:
                prior.update(mu=float(prior["mu"]), sigma=float(sigma))
        if len(problems):
            continue
        spec = {"name": name, "description": str(body.get("description", f"{name}: custom prior set")),
                **effects, "baseline": dict(body.get("baseline", {})), "mcid": body.get("mcid")}
        try:
            out[name] = PriorSet.from_dict(spec)
        except (TypeError, ValueError) as err:
            bad(name, f"cannot be read ({err})", "see the prior_sets format in hccbayes.inference.sensitivity")
    if problems:
        raise PlanError(problems, summary=f"{len(problems)} problem(s) in the prior sets of {fname}")
    return out


def resolve_prior_set(name: str, mcid: float = DEFAULT_MCID,
                      custom: Mapping[str, PriorSet] | None = None) -> PriorSet:
    """The prior set called ``name``: a custom set of the plan, else a named set at ``mcid``."""
    if custom and name in custom:
        return custom[name]
    return prior_set(name, mcid=mcid)


def expand_prior_sets(names: Iterable[str], mcids: Sequence[float] = (DEFAULT_MCID,),
                      custom: Mapping[str, PriorSet] | None = None) -> list[tuple[str, PriorSet]]:
    """(label, PriorSet) of the grid: MCID-dependent named sets once per MCID when there are several."""
    out = []
    for name in names:
        if name in MCID_SETS and len(mcids) > 1 and not (custom and name in custom):
            out.extend((f"{name}_mcid{m:g}", replace(prior_set(name, m), name=f"{name}_mcid{m:g}")) for m in mcids)
        else:
            out.append((name, resolve_prior_set(name, mcids[0], custom)))
    return out


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


def _grid_jobs(a, grid, *, study, cohort, seed: int, models, settings):
    """(model, label, FitJob) of every fit of one analysis in the grid, seeded as the engine seeds them."""
    from hccbayes.inference.engine import derived_seed
    from hccbayes.inference.tasks import FitJob

    run_settings = settings or replace(SamplerSettings(), **dict(a.sampler))
    for model in (m for m in a.models if models is None or m in models):
        spec = rs.spec_for(a, model)
        data = survival_data(cohort, study, spec)
        for label, priors in grid:
            fit_seed = derived_seed(seed, a.seed if a.seed is not None else "", a.id, model, label)
            yield model, label, FitJob(f"{a.id}__{model}__{label}", a.id, data, priors, spec, run_settings,
                                       fit_seed)


def sensitivity(analyses: Sequence, prior_sets: Iterable[str] = PRIOR_SET_NAMES,
                mcids: Sequence[float] = (DEFAULT_MCID,), *, study, cohort: pd.DataFrame, seed: int = 0,
                custom: Mapping[str, PriorSet] | None = None, models: Sequence[str] | None = None,
                settings: SamplerSettings | None = None, cache: ModelCache | None = None,
                fits_dir: str | Path | None = None, power_scale: bool = True, executor=None) -> SensitivityResult:
    """Refit every survival analysis of ``analyses`` (plan :class:`~hccbayes.plan.Analysis` values) under
    every prior set; see the module docstring. ``models`` restricts each analysis's models; ``seed`` is
    the plan seed (each fit's seed is derived from it as the engine derives it, so a named-set fit here
    is the engine's fit); ``settings`` overrides each analysis's sampler settings. ``executor`` (needs
    ``fits_dir``): run the grid's fits as gated tasks on it first (:func:`.tasks.prefit`), then read them
    from the cache."""
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
    job_kw = dict(study=study, cohort=cohort, seed=seed, models=models, settings=settings)
    if executor is not None:
        if fits_dir is None:
            raise ValueError("an executor stores its fits in the cache: give fits_dir")
        from hccbayes.inference.tasks import prefit

        prefit([job for a in survival for _, _, job in _grid_jobs(a, grid, **job_kw)], fits_dir, executor)
    for a in survival:
        rm = rs.RowMaker(a, study)
        sub = cohort
        for col, val in a.population.items():
            sub = sub[sub[col].astype(str) == str(val)]
        rs.frequentist_rows(rm, sub, study, SurvivalLinks())
        for model, label, job in _grid_jobs(a, grid, **job_kw):
            outcome = _fit(job.key, job.data, job.priors, job.spec, job.settings, job.seed, cache, fits_dir, a.id)
            result.fits[job.key] = outcome.dt
            result.fit_seconds[job.key] = outcome.seconds
            rs.bayes_rows(rm, study, job.data, job.spec, outcome, label, SurvivalLinks())
            if power_scale:
                ps = psn.power_scaling(outcome.dt)
                base = dict(source=f"bayes:{model}:{label}", model=model, prior_set=label,
                            cohort_based=True, diagnostics_ok=outcome.diagnostics.ok)
                for row in psn.psense_rows(ps, base):
                    rm.add(**row)
                ps_frames.append(ps.assign(analysis=a.id, model=model, prior_set=label))
        rows.extend(rm.rows)
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
    their contrast by its groups (``TKI+ICI vs TKI``); ``study`` maps the power-scaling rows' parameter
    names (``log_hr[tki_ici]``) to the same labels."""
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


def load_plan_with_prior_sets(path: str | Path):
    """(Plan, custom prior sets) of a plan file that may declare ``[prior_sets.<name>]`` tables: the
    plan loader parses those tables with :func:`custom_prior_sets` and keeps them on the plan."""
    from hccbayes.plan import load_plan

    plan = load_plan(path)
    return plan, dict(plan.custom_prior_sets)
