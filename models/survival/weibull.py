"""Weibull proportional-hazards model.

Hazard ``h(t|x) = h0(t)·exp(xβ)`` with ``H0(t) = exp(b0)·(t/t_ref)^k``: exp(β) are hazard ratios
comparable with Cox. The intercept b0 is the log cumulative baseline hazard at the reference time
t_ref (the median observed time), which decorrelates it from the shape k. Priors: see
:class:`hccbayes.models.priors.survival.BaselinePriors`; every hyperparameter is model data.
"""
from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from hccbayes.models.priors.survival import PriorSet
from hccbayes.models.survival.design import SurvivalData, SurvivalSpec
from hccbayes.models.survival.likelihood import (
    add_effects,
    censored_loglik,
    coords,
    effect_hyperparameters,
    effects_loglik,
)


def weibull_hazards(log_t_rel, log_t_ref, intercept, shape, eta, xp=np):
    """log h(t) and H(t) of the Weibull PH model (numpy or pytensor via ``xp``)."""
    log_cum = intercept + eta + shape * log_t_rel
    log_h = intercept + eta + xp.log(shape) + (shape - 1.0) * log_t_rel - log_t_ref
    return log_h, xp.exp(log_cum)


def _logp(value, event, eta, intercept, shape, log_t_ref):
    log_t_rel = pt.log(value) - log_t_ref
    log_h, cum = weibull_hazards(log_t_rel, log_t_ref, intercept, shape, eta, xp=pt)
    return censored_loglik(event, log_h, cum)


def model_data(data: SurvivalData, priors: PriorSet, spec: SurvivalSpec) -> dict[str, np.ndarray]:
    """Everything that may change between fits of one compiled Weibull model."""
    t_ref = data.reference_time
    out = {
        "X": data.centred(data.X),
        "event": data.event.astype(float),
        "time": data.time.astype(float),
        "log_t_ref": np.array(np.log(t_ref)),
        "intercept_mu": np.array(np.log(data.crude_rate * t_ref)),
        "intercept_sigma": np.array(priors.baseline.intercept_sigma),
        "shape_mu": np.array(priors.baseline.weibull_shape.mu),
        "shape_sigma": np.array(priors.baseline.weibull_shape.sigma),
        **effect_hyperparameters(data, priors, spec.contrast_term),
    }
    if data.regimen is not None:
        out["regimen_idx"] = data.regimen.astype("int64")
    return out


def build_weibull(data: SurvivalData, priors: PriorSet, spec: SurvivalSpec) -> pm.Model:
    """Pure builder: (data, priors, spec) -> pm.Model. Observed variable ``y``; pointwise per patient."""
    values = model_data(data, priors, spec)
    with pm.Model(coords={**coords(data), "patient": list(data.ids)}) as model:
        X = pm.Data("X", values["X"], dims=("patient", "term"))
        event = pm.Data("event", values["event"], dims="patient")
        log_t_ref = pm.Data("log_t_ref", values["log_t_ref"])
        regimen_idx = pm.Data("regimen_idx", values["regimen_idx"], dims="patient") \
            if data.regimen is not None else None
        eta = add_effects(data, X, values, regimen_idx)
        intercept = pm.Normal("intercept", pm.Data("intercept_mu", values["intercept_mu"]),
                              pm.Data("intercept_sigma", values["intercept_sigma"]))
        shape = pm.LogNormal("weibull_shape", pm.Data("shape_mu", values["shape_mu"]),
                             pm.Data("shape_sigma", values["shape_sigma"]))
        pm.CustomDist("y", event, eta, intercept, shape, log_t_ref, logp=_logp,
                      observed=pm.Data("time", values["time"], dims="patient"), dims="patient")
    return model


def pointwise_loglik(draws, data: SurvivalData) -> np.ndarray:
    """Per-patient log-likelihood for posterior draws (samples, patients), numpy."""

    eta = effects_loglik(draws, data, data.X, data.regimen)
    intercept = np.asarray(draws["intercept"]).reshape(-1, 1)
    shape = np.asarray(draws["weibull_shape"]).reshape(-1, 1)
    log_t_ref = np.log(data.reference_time)
    log_h, cum = weibull_hazards(np.log(data.time) - log_t_ref, log_t_ref, intercept, shape, eta)
    return censored_loglik(data.event, log_h, cum)
