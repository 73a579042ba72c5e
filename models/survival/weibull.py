"""Weibull proportional-hazards family.

Hazard ``h(t|x) = h0(t)·exp(η)`` with ``H0(t) = exp(b0)·(t/t_ref)^k``: exp(β) are hazard ratios comparable
with Cox. The intercept b0 is the log cumulative baseline hazard at the reference time t_ref (the median
observed time), which decorrelates it from the shape k.

Baseline priors (settings of a prior set, by name):

* ``intercept_sigma`` (2): b0 ~ Normal(log(crude rate × t_ref), 2) — centred on what a constant hazard at
  the data's crude event rate (events / person-time) would give;
* ``weibull_shape`` (LogNormal(0, 0.5)): k — shape 1 (constant hazard) at the centre, 95% in 0.38–2.7.
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np

from hccbayes.models.priors.values import LogNormal, Normal
from hccbayes.models.survival.family import SurvivalFamily


class Weibull(SurvivalFamily):
    name = "weibull"
    label = "Weibull proportional-hazards"
    baseline_words = "a Weibull"
    short = "Weibull"
    defaults: ClassVar[dict] = {"intercept_sigma": 2.0, "weibull_shape": LogNormal(0.0, 0.5)}
    graph_constants = ("log_t_ref",)
    diagnostic_vars = ("weibull_shape", "intercept")
    basis_names = ("time",)

    def setup(self, data, spec, anchors):
        return {"log_t_ref": np.log(anchors.t_ref), "t_end": anchors.t_end}

    def baseline_priors(self, settings, setup, spec, anchors):
        return {"intercept": Normal(np.log(anchors.rate * anchors.t_ref), settings["intercept_sigma"]),
                "weibull_shape": settings["weibull_shape"]}

    def parameters(self, spec):
        return ("intercept", "weibull_shape")

    def time_basis(self, t, setup):
        return {"time": t}

    @staticmethod
    def _log_t_rel(basis, setup, xp):
        return xp.log(basis["time"]) - setup["log_t_ref"]

    def log_hazard(self, basis, setup, theta, eta, xp):
        b0, k = theta["intercept"], theta["weibull_shape"]
        return b0 + eta + xp.log(k) + (k - 1.0) * self._log_t_rel(basis, setup, xp) - setup["log_t_ref"]

    def log_cum_hazard(self, basis, setup, theta, eta, xp):
        return theta["intercept"] + eta + theta["weibull_shape"] * self._log_t_rel(basis, setup, xp)

    def time_at(self, log_target, setup, theta):
        """Closed form: log H0(T) = b0 + k·(log T − log t_ref)."""
        return np.exp(setup["log_t_ref"] + (log_target - theta["intercept"]) / theta["weibull_shape"])

    def describe(self, settings, specs, fmt):
        return (f"Weibull: shape ~ {settings['weibull_shape'].text(lambda v: fmt(v, 'real'))}; the log cumulative baseline hazard at the median "
                "follow-up ~ Normal(log(crude event rate × median follow-up), "
                f"{fmt(settings['intercept_sigma'], 'real')})")


FAMILY = Weibull()
