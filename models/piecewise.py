"""Piecewise-exponential proportional-hazards model (PEM) on sufficient statistics.

The baseline hazard is constant, λ_j, on intervals [c_j, c_{j+1}) (c_0 = 0, last interval open). With
d_ij the event indicator of patient i in interval j and e_ij its exposure there, the log-likelihood is
Σ_ij d_ij (log λ_j + η_i) − e_ij λ_j exp(η_i). Patients who share a covariate pattern share η, so
summing d and e over each pattern × interval gives *exactly* the same likelihood: the model's cost
depends on the number of patterns × intervals, not on the number of patients. The patient-level
pointwise log-likelihood (for LOO) is recomputed from the posterior draws by :func:`pointwise_loglik`.

Cut points: by default the event-time quantiles at j/J (J = ``n_intervals``), so each interval holds
about the same number of events; a fixed grid on request (``SurvivalSpec.cuts``). Baseline prior:
independent Normal(log crude rate, 2) log hazards, or a Gaussian random walk (smoothing) — see
:class:`hccbayes.models.priors.BaselinePriors`.
"""
from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from hccbayes.models.design import SurvivalData, SurvivalSpec
from hccbayes.models.likelihood import (
    add_effects,
    censored_loglik,
    coords,
    effect_hyperparameters,
    effects_loglik,
)
from hccbayes.models.priors import PriorSet


def default_cuts(data: SurvivalData, n_intervals: int) -> np.ndarray:
    """Interior cut points at the event-time quantiles j/J, de-duplicated."""
    times = data.time[data.event > 0]
    times.sort()  # in place; np.quantile on sorted times is faster than its multi-way partition
    if times.size < n_intervals:
        n_intervals = max(1, times.size)
    q = np.quantile(times, np.arange(1, n_intervals) / n_intervals) if n_intervals > 1 else np.array([])
    return np.unique(np.round(q, 6))


def interval_index(time: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """Interval of each time: j with c_j < t ≤ c_{j+1} (c_0 = 0; the last interval is open, times ≤ 0
    fall in the first) — the number of cut points below t, one vectorised comparison per cut (a PEM has
    few cuts; cheaper than a binary search per patient)."""
    which = np.zeros(np.shape(time), dtype=np.int16)
    for c in np.asarray(cuts, float):
        which += time > c
    return which


def interval_stats(time: np.ndarray, event: np.ndarray, cuts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-patient event indicators and exposures by interval: two (n, J) arrays."""
    edges = np.concatenate([[0.0], np.asarray(cuts, float)])
    upper = np.concatenate([edges[1:], [np.inf]])
    exposure = np.clip(np.minimum(time[:, None], upper[None, :]) - edges[None, :], 0.0, None)
    d = np.zeros((time.size, edges.size))
    d[np.arange(time.size), interval_index(time, cuts)] = event
    return d, exposure


def sufficient_stats(data: SurvivalData, cuts: np.ndarray):
    """Events and exposure aggregated by covariate pattern × interval.

    Returns (pattern_X (P, p), pattern_regimen (P,) or None, D (P, J), E (P, J), pattern_of (n,)).
    Each patient adds to one cell, (pattern, interval its time ends in): D counts events there and E
    sums t − c_j; every interval before that cell is covered in full, so E adds its width times the
    number of the pattern's patients whose times end later. Memory is O(n) plus O(P·J).
    """
    patterns = data.patterns
    P = patterns.counts.size
    edges = np.concatenate([[0.0], np.asarray(cuts, float)])
    J = edges.size
    which = interval_index(data.time, cuts)
    cell = patterns.index * J
    cell += which

    def per_cell(weights=None):
        return np.bincount(cell, weights=weights, minlength=P * J).reshape(P, J)

    D = per_cell(data.event)
    ending = per_cell()  # patients whose time ends in each pattern × interval
    ending_later = ending.sum(axis=1, keepdims=True) - ending.cumsum(axis=1)
    partial = edges[which]
    np.subtract(data.time, partial, out=partial)  # t − c_j in the interval where t ends
    E = per_cell(partial) + ending_later * np.append(np.diff(edges), 0.0)
    px = patterns.rows[:, : data.X.shape[1]]
    preg = patterns.rows[:, -1].astype("int64") if data.regimen is not None else None
    return px, preg, D, E, patterns.index


def resolve_cuts(data: SurvivalData, spec: SurvivalSpec) -> np.ndarray:
    return np.asarray(spec.cuts, float) if spec.cuts is not None else default_cuts(data, spec.n_intervals)


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
