"""Model comparison and checks of survival fits: PSIS-LOO (between survival families) and prior predictive
checks of the prior sets (a run's checks, with power-scaling and posterior predictive checks, are made by
:mod:`hccbayes.inference.checks.run_checks`).

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

import logging
from typing import Mapping

import numpy as np
import pandas as pd
import xarray as xr

from hccbayes.models.priors.sets import PriorSet
from hccbayes.models.priors.values import CI_PROB
from hccbayes.models.survival import quantities as q
from hccbayes.models.survival.design import SurvivalData, SurvivalSpec
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
    x = data.X[:, data.terms.index(term)] if data.X.shape[1] else None
    if x is not None and set(np.unique(x[~np.isnan(x)])) <= {0.0, 1.0}:
        # prior draws: imputed binary values weighted by their prior P(x | π), not given the outcome
        med = q.median_survival(q.standardised_curves(dt, data, spec, term, given_outcome=False))
        for level, label in enumerate(level_labels):
            v = med.sel(level=level).values
            rows.append(dict(quantity="median", group=label, p_not_reached=float(np.mean(~np.isfinite(v))),
                             **dict(zip(("estimate", "lower", "upper"), _interval(v, ci_prob)))))
    out = pd.DataFrame(rows)
    out.insert(0, "prior_set", priors.name)
    out["interval"] = f"{ci_prob:.0%} prior interval"
    return out
