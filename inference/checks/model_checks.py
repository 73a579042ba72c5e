"""Model comparison and checks of survival fits: PSIS-LOO (between survival families), prior predictive checks of
the prior sets, and the hook that adds these (with power-scaling and posterior predictive checks) to a
finished run directory.

* **LOO** — :func:`loo_summary` runs ArviZ's PSIS-LOO (Vehtari, Gelman & Gabry 2017) on the per-patient
  log-likelihood ``y`` that :func:`~hccbayes.inference.fitting.fit.fit` stores; it reports elpd, its SE, p_loo,
  the maximum Pareto k and the number of k > 0.7 (above 0.7 the importance-sampling estimate of that
  patient's term is unreliable). Every family's likelihood is a density of the observed (time, event) per
  patient, so their elpd are comparable; :func:`compare_models` gives the elpd
  difference with the SE of the difference (``arviz_stats.compare``).
* **Prior predictive** — :func:`prior_predictive` draws the top-level parameters from the model's own
  priors (``pm.sample_prior_predictive`` on the builder's model, so nothing is re-implemented) and
  summarises the implied HR of the contrast and the standardised median survival per level with
  95% prior intervals (medians beyond the 60-month grid are "not reached" and count as +∞).
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd
import xarray as xr

from hccbayes.atomic import write_csv, write_text
from hccbayes.data.cohort import load_cohort
from hccbayes.data.study import load_study
from hccbayes.inference.checks.ppc import posterior_predictive_km
from hccbayes.inference.engine.rows_survival import level_labels
from hccbayes.inference.fitting.cache import read_attrs, read_groups
from hccbayes.inference.sensitivity.power_scaling import power_scaling
from hccbayes.models.priors.sets import PriorSet, resolve_prior_set
from hccbayes.models.priors.values import CI_PROB
from hccbayes.models.survival import quantities as q
from hccbayes.models.survival.design import SurvivalData, SurvivalSpec, survival_data
from hccbayes.models.survival.families import family

log = logging.getLogger(__name__)

K_BAD = 0.7  # Pareto k above which a PSIS-LOO term is unreliable (Vehtari et al. 2024, PSIS)


# ---- LOO --------------------------------------------------------------------------------------------------
def _loo(dt):
    from arviz_stats import loo

    if "log_likelihood" not in dt.children:
        raise ValueError("LOO needs the per-patient log_likelihood group (fit(..., pointwise=True))")
    return loo(dt, pointwise=True, var_name="y")


def _k_summary(elpd) -> dict:
    k = np.asarray(elpd.pareto_k.values, float)
    return {"max_k": float(np.nanmax(k)), "n_k_gt_0.7": int((k > K_BAD).sum())}


def loo_summary(dt) -> dict:
    """elpd_loo, se, p_loo, n, max Pareto k and the count of k > 0.7 of one fit."""
    e = _loo(dt)
    return {"elpd_loo": float(e.elpd), "se": float(e.se), "p_loo": float(e.p), "n": int(e.n_data_points),
            **_k_summary(e), "good_k": float(e.good_k)}


def compare_models(fits: Mapping[str, object]) -> pd.DataFrame:
    """PSIS-LOO comparison of fits of the same patients (e.g. {"weibull": dt, "pem": dt}): per model
    elpd_loo, se, p_loo, elpd_diff and dse against the best model, the stacking weight, max Pareto k
    and the count of k > 0.7; sorted best first."""
    from arviz_stats import compare

    elpds = {name: _loo(dt) for name, dt in fits.items()}
    ns = {e.n_data_points for e in elpds.values()}
    if len(ns) != 1:
        raise ValueError(f"LOO comparison needs fits of the same patients, got sizes {sorted(ns)}")
    cmp = compare(elpds, round_to="none")
    rows = []
    for name, r in cmp.iterrows():
        e = elpds[name]
        rows.append({"model": name, "rank": int(r["rank"]), "elpd_loo": float(e.elpd), "se": float(e.se),
                     "p_loo": float(e.p), "elpd_diff": float(r["elpd_diff"]), "dse": float(r["dse"]),
                     "weight": float(r["weight"]), **_k_summary(e)})
    return pd.DataFrame(rows)


# ---- prior predictive ------------------------------------------------------------------------------------
def prior_draws(data: SurvivalData, priors: PriorSet, spec: SurvivalSpec, draws: int = 2000, seed: int = 0):
    """A DataTree whose ``posterior`` group holds draws from the prior (one chain), built by the model
    builder of ``spec.model`` so the quantities of :mod:`hccbayes.models.survival.quantities` apply unchanged."""
    import pymc as pm

    model = family(spec.model).build(data, priors, spec)
    names = [v.name for v in model.free_RVs + model.deterministics]
    pr = pm.sample_prior_predictive(draws=draws, model=model, var_names=names, random_seed=seed)
    prior = pr["prior"].to_dataset() if isinstance(pr, xr.DataTree) else pr.prior
    return xr.DataTree.from_dict({"/posterior": prior})


def _interval(x: np.ndarray, ci_prob: float) -> tuple[float, float, float]:
    v = np.nan_to_num(np.asarray(x, float).ravel(), nan=np.inf)  # not reached within the grid: +inf
    lo, mid, hi = np.quantile(v, [(1 - ci_prob) / 2, 0.5, (1 + ci_prob) / 2], method="inverted_cdf")
    return float(mid), float(lo), float(hi)


def prior_predictive(data: SurvivalData, priors: PriorSet, spec: SurvivalSpec, draws: int = 2000,
                     seed: int = 0, ci_prob: float = CI_PROB, level_labels: tuple[str, str] = ("0", "1"),
                     ) -> pd.DataFrame:
    """Implied prior distribution of the contrast HR and of the standardised median survival at each
    level of the contrast term: rows (quantity, group, estimate = prior median, lower, upper,
    p_not_reached = share of prior draws whose median is beyond the grid)."""
    dt = prior_draws(data, priors, spec, draws, seed)
    term = spec.contrast_term
    hr = np.exp(dt["posterior"]["log_hr"].sel(term=term).values)
    rows = [dict(quantity="hr", group="", p_not_reached=0.0, **dict(zip(("estimate", "lower", "upper"),
                                                                        _interval(hr, ci_prob))))]
    if data.X.shape[1] and set(np.unique(data.X[:, data.terms.index(term)])) <= {0.0, 1.0}:
        med = q.median_survival(q.standardised_curves(dt, data, spec, term))
        for level, label in enumerate(level_labels):
            v = med.sel(level=level).values
            rows.append(dict(quantity="median", group=label, p_not_reached=float(np.mean(~np.isfinite(v))),
                             **dict(zip(("estimate", "lower", "upper"), _interval(v, ci_prob)))))
    out = pd.DataFrame(rows)
    out.insert(0, "prior_set", priors.name)
    out["interval"] = f"{ci_prob:.0%} prior interval"
    return out


# ---- the run-directory hook --------------------------------------------------------------------------
def _fit_groups(key: str) -> tuple[str, str, str]:
    analysis, model, prior = key.split("__")
    return analysis, model, prior


def _family(spec: SurvivalSpec) -> str:
    """The model family whose priors a prior predictive check describes (builder and baseline)."""
    return f"{spec.model}{'+regimen' if spec.regimen_effects else ''}"


def add_model_checks(run_dir: str | Path, prior_sets: tuple[str, ...] | None = None, n_rep: int = 200,
                     prior_draws_n: int = 2000, seed: int = 0, fit_prior_sets: tuple[str, ...] | None = None,
                     custom: Mapping[str, PriorSet] | None = None) -> dict[str, Path]:
    """Add model checks to a finished run directory (``comparisons.csv``, ``run.json``, ``fits/``) without
    refitting; writes ``checks/loo.csv`` (per analysis and prior set: its models compared), ``checks/psense.csv``,
    ``checks/ppc.csv`` and ``checks/ppc_bands.csv`` (for plotting), ``checks/prior_predictive.csv`` and
    ``checks/checks.json`` (what was done). The cohort is re-read from run.json to rebuild each fit's data.

    LOO, posterior predictive and power-scaling are per fit — of every fit, or of the fits whose prior set
    is in ``fit_prior_sets`` (the run engine: the default set); only the posterior, log_likelihood and
    log_prior groups are read. The prior predictive check describes priors, not analyses: it runs once per
    model family (model, with or without regimen effects) and prior set (``prior_sets``, default: those of
    the fits), on the design of the family's first analysis, with the prior set stored in a fit of it when
    there is one (else the named or ``custom`` set)."""

    run_dir = Path(run_dir)
    run = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    study = load_study(run["study_folder"])
    cohort = load_cohort(run["cohort"], study)
    out = run_dir / "checks"
    out.mkdir(exist_ok=True)
    attrs = {_fit_groups(p.stem): (p, read_attrs(p)) for p in sorted((run_dir / "fits").glob("*.nc"))}
    fits: dict[tuple, tuple] = {}
    for (analysis, model, prior), (path, a) in attrs.items():
        if fit_prior_sets is None or prior in fit_prior_sets:
            spec = SurvivalSpec(**json.loads(a["spec"]))
            dt = read_groups(path, ("posterior", "log_likelihood", "log_prior"), a)
            fits[(analysis, model, prior)] = (dt, spec, survival_data(cohort, study, spec))
    loo_rows, ps_rows, ppc_rows, bands, prior_rows = [], [], [], [], []
    by_ap: dict[tuple, dict] = {}
    for (analysis, model, prior), (dt, spec, data) in fits.items():
        by_ap.setdefault((analysis, prior), {})[model] = dt
        tag = dict(analysis=analysis, model=model, prior_set=prior)
        ps_rows.append(power_scaling(dt).assign(**tag))
        labels = _labels(study, spec, level_labels)
        groups = None if labels is None else np.where(data.X[:, data.terms.index(spec.contrast_term)] > 0,
                                                      labels[1], labels[0])
        ppc = posterior_predictive_km(dt, data, spec, groups=groups, n_rep=n_rep, seed=seed)
        ppc_rows.append(ppc.summary.assign(**tag))
        bands.append(ppc.band.assign(**tag))
    for (analysis, prior), models in by_ap.items():
        if len(models) > 1:
            loo_rows.append(compare_models(models).assign(analysis=analysis, prior_set=prior))
        else:
            ((model, dt),) = models.items()
            loo_rows.append(pd.DataFrame([{"model": model, **loo_summary(dt)}]).assign(analysis=analysis,
                                                                                     prior_set=prior))
    names = prior_sets or tuple(dict.fromkeys(p for (_, _, p) in attrs))
    families: dict[str, tuple] = {}
    for (analysis, model, prior), (path, a) in attrs.items():
        spec = SurvivalSpec(**json.loads(a["spec"]))
        families.setdefault(_family(spec), (analysis, model, spec))
    for kind, (analysis, model, spec) in families.items():
        data = survival_data(cohort, study, spec)
        labels = _labels(study, spec, level_labels) or ("0", "1")
        for name in names:
            stored = attrs.get((analysis, model, name))
            priors = (PriorSet.from_json(stored[1]["priors"]) if stored is not None
                      else resolve_prior_set(name, custom=custom))
            pp = prior_predictive(data, priors, spec, prior_draws_n, seed, level_labels=labels)
            prior_rows.append(pp.assign(prior_set=name, family=kind, analysis=analysis, model=model))
    paths = {}
    for name, frames in (("loo", loo_rows), ("psense", ps_rows), ("ppc", ppc_rows), ("ppc_bands", bands),
                         ("prior_predictive", prior_rows)):
        if frames:
            paths[name] = out / f"{name}.csv"
            _write_csv(pd.concat(frames, ignore_index=True), paths[name])
    summary = {"fits": len(fits), "n_rep": n_rep, "prior_draws": prior_draws_n, "seed": seed,
               "fit_prior_sets": fit_prior_sets,
               "prior_predictive": {"families": sorted(families), "prior_sets": list(names)},
               "files": sorted(p.name for p in paths.values())}
    write_text(out / "checks.json", json.dumps(summary, indent=1))
    log.info("model checks of %d fits written to %s", len(fits), out)
    return paths


def _labels(study, spec: SurvivalSpec, level_labels) -> tuple[str, str] | None:
    term = spec.contrast_term
    factor = getattr(study, "factors", {}).get(term)
    if spec.regimen_effects or factor is None:
        return None
    if not factor.levels:  # a threshold factor (column > cut-off)
        return f"{factor.column} ≤ {factor.above:g}", f"{factor.column} > {factor.above:g}"
    return level_labels(study, term)


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    write_csv(df, path, float_format="%.8g")
