"""The one censored survival log-likelihood every baseline shares, and the shared effect terms.

For a hazard h and cumulative hazard H, a patient observed to time t with event indicator d
contributes ``d·log h(t) − H(t)`` (log density for events, log survival for the censored). A model
only supplies its log hazard and cumulative hazard. The same function serves aggregated data, where d
is an event count and H the summed cumulative hazard (the piecewise-exponential sufficient statistics).
It works on numpy arrays and on PyTensor tensors alike.
"""
from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from hccbayes.models.priors.survival import PriorSet
from hccbayes.models.survival.design import SurvivalData


def censored_loglik(event, log_hazard, cum_hazard):
    """Elementwise ``event·log_hazard − cum_hazard``."""
    return event * log_hazard - cum_hazard


def effect_hyperparameters(data: SurvivalData, priors: PriorSet, primary: str | None) -> dict[str, np.ndarray]:
    """The log-HR prior means and sds of each term, as arrays (model data, so they can change)."""
    per_term = priors.for_terms(data.terms, primary)
    out = {
        "log_hr_mu": np.array([p.mu for p in per_term], dtype=float),
        "log_hr_sigma": np.array([p.sigma for p in per_term], dtype=float),
    }
    if data.regimen is not None:
        out["regimen_tau_sigma"] = np.array(priors.baseline.regimen_tau.sigma, dtype=float)
        out["regimen_centring"] = regimen_centring(data)
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

def add_effects(data: SurvivalData, X, values: dict, regimen_idx=None):
    """Add the log-HR terms (and regimen effects) to the current model; return the linear predictor.

    ``values`` holds the hyperparameters (:func:`effect_hyperparameters`); ``X`` is the design matrix as model data (rows = patients or covariate patterns); ``regimen_idx``
    the regimen index of each row when the analysis has regimen effects. Regimen effects are
    non-centred deviations around their arm, centred within it: regimen r of arm a has log-HR (vs the
    reference arm) ``β_arm·x_a + τ_a·(z_r − z̄_a)`` where β_arm is the arm term already in ``X``, z ~ N(0, 1)
    and z̄_a the patient-weighted mean of z over arm a's regimens (:func:`regimen_centring`): the deviations
    average to zero over each arm's patients, so β_arm is the arm contrast.
    """
    mu = pm.Data("log_hr_mu", values["log_hr_mu"], dims="term")
    sigma = pm.Data("log_hr_sigma", values["log_hr_sigma"], dims="term")
    log_hr = pm.Normal("log_hr", mu=mu, sigma=sigma, dims="term")
    # an elementwise product summed over terms, not pt.dot: a dot is a BLAS call inside the compiled
    # log density, and BLAS kernels (CPU type, thread count) sum in different orders, so the draws
    # would depend on the machine's last bits; this loop is compiled without fast-math (fit.py)
    eta = pt.sum(X * log_hr[None, :], axis=1)
    if data.regimen is not None:
        tau_sigma = pm.Data("regimen_tau_sigma", values["regimen_tau_sigma"])
        tau = pm.HalfNormal("regimen_tau", sigma=tau_sigma, dims="arm")
        z = pm.Normal("regimen_z", 0.0, 1.0, dims="regimen")
        centring = pm.Data("regimen_centring", values["regimen_centring"], dims=("regimen", "regimen_of"))
        z_arm = pt.sum(centring * z[None, :], axis=1)  # elementwise, not a BLAS dot (see above)
        deviation = pm.Deterministic("regimen_deviation", tau[data.regimen_arm] * (z - z_arm), dims="regimen")
        eta = eta + deviation[regimen_idx]
    return eta


def coords(data: SurvivalData) -> dict[str, list]:
    c = {"term": list(data.terms)}
    if data.regimen is not None:
        c["regimen"] = list(data.regimen_names)
        c["regimen_of"] = list(data.regimen_names)
        c["arm"] = list(data.arm_names)
    return c


def effects_loglik(draws, data: SurvivalData, X: np.ndarray, regimen_idx=None) -> np.ndarray:
    """Numpy linear predictor for posterior draws: (samples, rows); ``X`` uncentred."""
    log_hr = np.asarray(draws["log_hr"]).reshape(-1, len(data.terms))
    eta = log_hr @ data.centred(X).T
    if data.regimen is not None:
        dev = np.asarray(draws["regimen_deviation"]).reshape(-1, len(data.regimen_names))
        eta = eta + dev[:, regimen_idx]
    return eta
