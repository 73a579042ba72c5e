"""Piecewise-exponential proportional-hazards family (PEM) on sufficient statistics.

The baseline hazard is constant, λ_j, on intervals [c_j, c_{j+1}) (c_0 = 0, last interval open). With
d_ij the event indicator of patient i in interval j and e_ij its exposure there, the log-likelihood is
Σ_ij d_ij (log λ_j + η_i) − e_ij λ_j exp(η_i). Patients who share a covariate pattern share η, so
summing d and e over each pattern × interval gives *exactly* the same likelihood: the model's cost
depends on the number of patterns × intervals, not on the number of patients (this family's own data
representation; the patient-level log-likelihood of posterior draws, for LOO, comes from the shared base).
Cut points, intervals and the sufficient statistics themselves are in :mod:`hccbayes.models.survival.intervals`.

Cut points: by default the event-time quantiles at j/J, so each interval holds about the same number of
events; J = ``SurvivalSpec.n_intervals``, or about four events per interval (6 to 20 intervals,
:func:`hccbayes.models.survival.intervals.automatic_n_intervals`) when it is not given; a fixed grid on request
(``SurvivalSpec.cuts``).

Baseline priors (settings of a prior set, by name):

* ``pem_log_hazard_sigma`` (2): independent log hazards log λ_j ~ Normal(log crude rate, 2) each;
* ``pem_rw_sigma`` (HalfNormal(0.5)): with ``baseline = "rw"`` (random-walk smoothing) the first log hazard is
  Normal(log crude rate, 2) and the increments between adjacent intervals are Normal(0, σ_rw), σ_rw ~
  HalfNormal(0.5) (non-centred).
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np

from hccbayes.models.priors.values import HalfNormal, Normal
from hccbayes.models.survival.family import SurvivalFamily
from hccbayes.models.survival.intervals import default_cuts, interval_index, interval_stats, sufficient_stats
from hccbayes.models.survival.likelihood import censored_loglik, rowdot


class PiecewiseExponential(SurvivalFamily):
    name = "pem"
    label = "piecewise-exponential"
    baseline_words = "a piecewise-constant (piecewise-exponential)"
    short = "PEM"
    baselines = ("independent", "rw")
    defaults: ClassVar[dict] = {"pem_log_hazard_sigma": 2.0, "pem_rw_sigma": HalfNormal(0.5)}
    auxiliary = ("rw_z",)
    diagnostic_vars = ("log_hazard", "rw_sigma")
    rows = "pattern"

    def default_points(self, data, spec):
        return default_cuts(data, spec.n_intervals)

    def setup(self, data, spec, anchors):
        cuts = self.points(data, spec)
        return {"cuts": cuts, "edges": np.concatenate([[0.0], cuts]), "t_end": anchors.t_end}

    def structure(self, setup, spec):
        return (spec.baseline, setup["edges"].size)

    def sizes(self, setup, spec):
        return {"log_hazard": setup["edges"].size}

    def coords(self, data, setup):
        return {"interval": list(range(setup["edges"].size))}

    def baseline_priors(self, settings, setup, spec, anchors):
        first = Normal(np.log(anchors.rate), settings["pem_log_hazard_sigma"])
        if spec.baseline == "rw":
            return {"log_hazard_first": first, "rw_sigma": settings["pem_rw_sigma"]}
        return {"log_hazard": first}

    def parameters(self, spec):
        return ("log_hazard",)

    def add_baseline(self, priors, hyper, setup):
        import pymc as pm
        import pytensor.tensor as pt

        if "log_hazard" in priors:
            return {"log_hazard": priors["log_hazard"].to_pymc("log_hazard", hyper["log_hazard"], dims="interval")}
        first = priors["log_hazard_first"].to_pymc("log_hazard_first", hyper["log_hazard_first"])
        rw_sigma = priors["rw_sigma"].to_pymc("rw_sigma", hyper["rw_sigma"])
        steps = pm.Normal("rw_z", 0.0, 1.0, shape=setup["edges"].size - 1)  # non-centred increments
        log_hazard = pm.Deterministic("log_hazard", first + pt.concatenate([pt.zeros(1), pt.cumsum(rw_sigma * steps)]),
                                      dims="interval")
        return {"log_hazard": log_hazard}

    def row_values(self, data, setup):
        """Covariate patterns × intervals: events D and exposure E (the sufficient statistics)."""
        px, preg, D, E = sufficient_stats(data, setup["cuts"])
        out = {"X": data.centred(px), "D": D, "E": E}
        if preg is not None:
            out["regimen_idx"] = preg
        return out

    def add_likelihood(self, md, setup, theta, eta):
        import pymc as pm
        import pytensor.tensor as pt

        def logp(value, exposure, log_h):
            return censored_loglik(value, log_h, exposure * pt.exp(log_h))

        log_h = theta["log_hazard"][None, :] + eta[:, None]  # (pattern, interval)
        pm.CustomDist("y", md["E"], log_h, logp=logp, observed=md["D"])  # (pattern, interval)

    def time_basis(self, t, setup):
        _, exposure = interval_stats(t, np.zeros_like(t), setup["cuts"])
        return {"interval": interval_index(t, setup["cuts"]), "exposure": exposure}

    def log_hazard(self, basis, setup, theta, eta, xp):
        return theta["log_hazard"][..., basis["interval"]] + eta

    def log_cum_hazard(self, basis, setup, theta, eta, xp):
        return xp.log(rowdot(basis["exposure"], xp.exp(theta["log_hazard"]))) + eta

    def time_at(self, log_target, setup, theta):
        """Closed form: H0 is piecewise linear, inverted in the interval where the target falls."""
        lam = np.exp(theta["log_hazard"])  # (S, J)
        edges = setup["edges"]
        cum = np.concatenate([np.zeros((lam.shape[0], 1)), np.cumsum(lam[:, :-1] * np.diff(edges), axis=1)], axis=1)
        target = np.exp(log_target)
        j = np.clip((target[:, :, None] >= cum[:, None, :]).sum(axis=2) - 1, 0, edges.size - 1)
        rows = np.arange(target.shape[0])[:, None]
        return edges[j] + (target - cum[rows, j]) / lam[rows, j]

    def describe(self, settings, fits, fmt):
        text = (f"piecewise-exponential: log hazards ~ Normal(log crude event rate, "
                f"{fmt(settings['pem_log_hazard_sigma'], 'real')}), independent per interval")
        if any(spec.get("baseline") == "rw" for _, spec in fits):
            text += (f" (or, where an analysis asks for smoothing, a Gaussian random walk with step sd "
                     f"~ {settings['pem_rw_sigma'].text(lambda v: fmt(v, 'real'))})")
        counts: dict[int, set] = {}
        for analysis, spec in fits:
            if spec.get("cuts") is not None:
                counts.setdefault(len(spec["cuts"]) + 1, set()).add(analysis)
        if counts:
            text += ("; intervals cut at event-time quantiles, about four events each unless the plan fixes "
                     "them: " + ", ".join(f"{j} intervals in {fmt(len(a), 'count')} "
                                          f"{'analysis' if len(a) == 1 else 'analyses'}" for j, a in sorted(counts.items())))
        return text


FAMILY = PiecewiseExponential()
