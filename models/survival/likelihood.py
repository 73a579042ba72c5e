"""The one censored survival log-likelihood every family shares, the linear predictor and the effect terms.

For a hazard h and cumulative hazard H, a patient observed to time t with event indicator d contributes
``d·log h(t) − H(t)`` (log density for events, log survival for the censored). A family supplies its log hazard
and cumulative hazard (:mod:`~hccbayes.models.survival.family`). The same function serves aggregated data,
where d is an event count and H the summed cumulative hazard (the piecewise-exponential sufficient
statistics). It works on numpy arrays and on PyTensor tensors alike, as does the linear predictor.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from hccbayes.models.priors.sets import PriorSet
from hccbayes.models.priors.values import HalfNormal, Normal, Prior
from hccbayes.models.survival.arrays import SurvivalData

# the effects' own prior setting, read from a prior set like a family's baseline settings: regimen log-HRs
# scatter around their arm's log-HR with sd τ ~ HalfNormal(0.5) (non-centred), one τ per arm
EFFECT_DEFAULTS = {"regimen_tau": HalfNormal(0.5)}


def censored_loglik(event, log_hazard, cum_hazard):
    """Elementwise ``event·log_hazard − cum_hazard``."""
    return event * log_hazard - cum_hazard


def rowdot(A, w):
    """Σ_k A[r, k]·w[..., k] for every row r of A: (rows,) for a vector w, (samples, rows) for draws (samples, k).

    In a PyMC model never a BLAS dot: BLAS kernels (CPU type, thread count) sum in different orders, so the
    draws would depend on the machine's last bits; there it is an elementwise product summed over k, compiled
    without fast-math (:func:`hccbayes.inference.fitting.fit.compile_model`). On numpy draws it is a matrix
    product (no (samples, rows, k) temporary); numbers computed from draws may differ in their last bits on
    another machine (README, "Same results on any machine")."""
    if isinstance(A, np.ndarray) and isinstance(w, np.ndarray):
        return w @ A.T
    return (A * (w[None, :] if w.ndim == 1 else w[..., None, :])).sum(axis=-1)


def linear_predictor(X, log_hr, deviation=None, regimen_idx=None):
    """η = X·β (+ the regimen deviation of each row's regimen): ``X`` (rows, terms) centred, ``log_hr`` (terms,)
    in a model or (samples, terms) of draws, ``deviation`` (regimens,) or (samples, regimens)."""
    eta = rowdot(X, log_hr)
    if deviation is not None:
        eta = eta + (deviation[regimen_idx] if deviation.ndim == 1 else deviation[:, regimen_idx])
    return eta


def hyper_names(name: str, prior: Prior) -> list[str]:
    """Model-data names of a parameter's prior hyperparameters: ``<parameter>_<hyperparameter>``."""
    return [f"{name}_{p}" for p in prior.hyperparameters()]


def effect_priors(data: SurvivalData, priors: PriorSet, primary: str | None,
                  settings: Mapping[str, Any]) -> dict[str, Prior]:
    """The log-HR priors of the terms as one vector prior (``log_hr``), and the regimen scale ``regimen_tau``
    when the analysis has regimen effects."""
    per_term = priors.for_terms(data.terms, primary)
    out: dict[str, Prior] = {"log_hr": Normal(np.array([p.mu for p in per_term], dtype=float),
                                              np.array([p.sigma for p in per_term], dtype=float))}
    if data.regimen is not None:
        out["regimen_tau"] = settings["regimen_tau"]
    return out


def regimen_centring(data: SurvivalData) -> np.ndarray:
    """(R, R) matrix M with M[r, s] = n_s / n_a(r) for the regimens s of r's arm (n: patients), else 0: M·z is,
    for every regimen, the patient-weighted mean of z over the regimens of its arm. Deviations z − M·z average
    to zero over each arm's patients, so the arm term compares the arms as the data compose them (the same
    contrast as the model without regimen effects), not two "typical" regimens."""
    counts = np.bincount(data.regimen, minlength=len(data.regimen_names)).astype(float)
    same_arm = data.regimen_arm[:, None] == data.regimen_arm[None, :]
    per_arm = (same_arm * counts[None, :]).sum(axis=1)
    return np.where(same_arm, counts[None, :] / per_arm[:, None], 0.0)


def regimen_deviation(tau, z, centring, regimen_arm):
    """τ_a(r)·(z_r − Σ_s M[r, s]·z_s): the regimen deviations centred within their arm (M:
    :func:`regimen_centring`); numpy draws (samples, ·) or model tensors (·)."""
    return tau[..., regimen_arm] * (z - rowdot(centring, z))


def add_effects(data: SurvivalData, X, priors: Mapping[str, Prior], hyper: Mapping[str, Any], regimen_idx=None,
                centring=None):
    """Add the log-HR terms (and regimen effects) to the current model; return the linear predictor.

    ``X`` is the design matrix as model data (rows = patients or covariate patterns), ``hyper`` the
    hyperparameters of each prior as model data, ``regimen_idx`` the regimen of each row and ``centring`` the
    :func:`regimen_centring` matrix (model data) when the analysis has regimen effects. Regimen effects are
    non-centred deviations around their arm, centred within it: regimen r of arm a has log-HR (vs the
    reference arm) ``β_arm·x_a + τ_a·(z_r − z̄_a)`` where β_arm is the arm term already in ``X``, z ~ N(0, 1)
    and z̄_a the patient-weighted mean of z over arm a's regimens: the deviations average to zero over each
    arm's patients, so β_arm is the arm contrast.
    """
    import pymc as pm

    log_hr = priors["log_hr"].to_pymc("log_hr", hyper["log_hr"], dims="term")
    deviation = None
    if data.regimen is not None:
        tau = priors["regimen_tau"].to_pymc("regimen_tau", hyper["regimen_tau"], dims="arm")
        z = pm.Normal("regimen_z", 0.0, 1.0, dims="regimen")
        deviation = pm.Deterministic("regimen_deviation", regimen_deviation(tau, z, centring, data.regimen_arm),
                                     dims="regimen")
    return linear_predictor(X, log_hr, deviation, regimen_idx)


def coords(data: SurvivalData) -> dict[str, list]:
    c = {"term": list(data.terms)}
    if data.regimen is not None:
        c["regimen"] = list(data.regimen_names)
        c["regimen_of"] = list(data.regimen_names)
        c["arm"] = list(data.arm_names)
    return c
