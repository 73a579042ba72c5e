"""Piecewise-exponential proportional-hazards model (PEM) on sufficient statistics.

The baseline hazard is constant, λ_j, on intervals [c_j, c_{j+1}) (c_0 = 0, last interval open). With
d_ij the event indicator of patient i in interval j and e_ij its exposure there, the log-likelihood is
Σ_ij d_ij (log λ_j + η_i) − e_ij λ_j exp(η_i). Patients who share a covariate pattern share η, so
summing d and e over each pattern × interval gives *exactly* the same likelihood: the model's cost
depends on the number of patterns × intervals, not on the number of patients. The patient-level
pointwise log-likelihood (for LOO) is recomputed from the posterior draws by :func:`pointwise_loglik`.
Cut points, intervals and the sufficient statistics themselves are in :mod:`hccbayes.models.survival.intervals`.

Cut points: by default the event-time quantiles at j/J, so each interval holds about the same number of
events; J = ``SurvivalSpec.n_intervals``, or about four events per interval (6 to 20 intervals,
:func:`hccbayes.models.survival.intervals.automatic_n_intervals`) when it is not given; a fixed grid on request
(``SurvivalSpec.cuts``). Baseline prior:
independent Normal(log crude rate, 2) log hazards, or a Gaussian random walk (smoothing) — see
:class:`hccbayes.models.priors.survival.BaselinePriors`.
"""
from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from hccbayes.models.priors.survival import PriorSet
from hccbayes.models.survival.design import SurvivalData, SurvivalSpec
from hccbayes.models.survival.intervals import interval_stats, resolve_cuts, sufficient_stats  # noqa: F401 (re-exported)
from hccbayes.models.survival.likelihood import (
    add_effects,
    censored_loglik,
    coords,
    effect_hyperparameters,
    effects_loglik,
)


def model_data(data: SurvivalData, priors: PriorSet, spec: SurvivalSpec) -> dict[str, np.ndarray]:
    cuts = resolve_cuts(data, spec)
    px, preg, D, E, _ = sufficient_stats(data, cuts)
    out = {
        "X": data.centred(px), "D": D, "E": E,
        "baseline_mu": np.array(np.log(data.crude_rate)),
        "baseline_sigma": np.array(priors.baseline.pem_log_hazard_sigma),
        **effect_hyperparameters(data, priors, spec.contrast_term),
    }
    if spec.baseline == "rw":
        out["rw_sigma_scale"] = np.array(priors.baseline.pem_rw_sigma.sigma)
    if preg is not None:
        out["regimen_idx"] = preg
    return out


def _logp(value, exposure, log_h):
    return censored_loglik(value, log_h, exposure * pt.exp(log_h))


def build_pem(data: SurvivalData, priors: PriorSet, spec: SurvivalSpec) -> pm.Model:
    """Pure builder: (data, priors, spec) -> pm.Model on pattern × interval sufficient statistics."""
    values = model_data(data, priors, spec)
    J = values["D"].shape[1]
    with pm.Model(coords={**coords(data), "interval": list(range(J))}) as model:
        X = pm.Data("X", values["X"], dims=("pattern", "term"))
        regimen_idx = pm.Data("regimen_idx", values["regimen_idx"], dims="pattern") \
            if data.regimen is not None else None
        eta = add_effects(data, X, values, regimen_idx)
        mu0 = pm.Data("baseline_mu", values["baseline_mu"])
        s0 = pm.Data("baseline_sigma", values["baseline_sigma"])
        if spec.baseline == "rw":
            first = pm.Normal("log_hazard_first", mu0, s0)
            rw_sigma = pm.HalfNormal("rw_sigma", pm.Data("rw_sigma_scale", values["rw_sigma_scale"]))
            steps = pm.Normal("rw_z", 0.0, 1.0, shape=J - 1)  # non-centred increments
            log_lambda = pm.Deterministic(
                "log_hazard", first + pt.concatenate([pt.zeros(1), pt.cumsum(rw_sigma * steps)]), dims="interval")
        else:
            log_lambda = pm.Normal("log_hazard", mu0, s0, dims="interval")
        exposure = pm.Data("E", values["E"], dims=("pattern", "interval"))
        log_h = log_lambda[None, :] + eta[:, None]  # (pattern, interval)
        pm.CustomDist("y", exposure, log_h, logp=_logp,
                      observed=pm.Data("D", values["D"], dims=("pattern", "interval")),
                      dims=("pattern", "interval"))
    return model


def pointwise_loglik(draws, data: SurvivalData, cuts: np.ndarray) -> np.ndarray:
    """Patient-level log-likelihood for posterior draws: (samples, patients)."""
    eta = effects_loglik(draws, data, data.X, data.regimen)  # (S, n)
    log_lambda = np.asarray(draws["log_hazard"]).reshape(eta.shape[0], -1)  # (S, J)
    d, e = interval_stats(data.time, data.event, cuts)  # (n, J) each
    log_h_event = log_lambda @ d.T + data.event * eta  # Σ_j d_ij·(log λ_j + η_i); (S, n)
    cum = (np.exp(log_lambda) @ e.T) * np.exp(eta)  # Σ_j e_ij λ_j exp(η_i)
    return log_h_event - cum
