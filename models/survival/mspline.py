"""M-spline proportional-hazards family: a smooth, flexible baseline hazard (the default of rstanarm's
``stan_surv``, Brilleman et al. 2020, arXiv:2002.09633).

The baseline hazard is a non-negative combination of cubic M-spline basis functions of time (Ramsay 1988,
Statist. Sci. 3:425), the cumulative hazard the same combination of their integrals, the I-splines:

    h0(t) = exp(γ)·Σ_k p_k M_k(t),    H0(t) = exp(γ)·Σ_k p_k I_k(t),    p on the simplex (Σ_k p_k = 1).

As in ``stan_surv``: degree 3; boundary knots at 0 and at the last observed time t_end; interior knots at
equally spaced quantiles of the event times — two of them by default (``df = 6``: six basis functions),
``n_intervals`` − 1 of them when a plan sets ``n_intervals``, or the plan's ``cuts``; coefficients p ~
Dirichlet(1) (uniform on the simplex). Each M_k integrates to 1 over [0, t_end], so I_k(t_end) = 1 and
exp(γ) = H0(t_end): the intercept γ is the log cumulative baseline hazard at the last follow-up, with prior
Normal(log(crude rate × t_end), 2) — centred on a constant hazard at the data's crude event rate, as
``stan_surv`` shifts its intercept by the log crude event rate, with the sd of this package's Weibull intercept
(``stan_surv``'s default sd is 20). Beyond t_end the hazard stays at its value at t_end (H0 grows linearly), so
S(t) and simulated times extend past the follow-up.

Baseline priors (settings of a prior set, by name): ``intercept_sigma`` (2, shared with the Weibull family)
and ``mspline_coefs`` (Dirichlet(1)). The basis is evaluated in numpy (Cox–de Boor recursion; tested against
scipy's B-splines) and enters the model as data.
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np

from hccbayes.models.priors.values import Dirichlet, Normal
from hccbayes.models.survival.family import SurvivalFamily
from hccbayes.models.survival.likelihood import rowdot

DEGREE = 3
DEFAULT_INTERVALS = 3  # two interior knots: stan_surv's df = 6 basis functions


def _bsplines(x: np.ndarray, knots: np.ndarray, order: int) -> np.ndarray:
    """B-splines of ``order`` on the full knot vector at x inside [knots[0], knots[-1]]: (n, len(knots) − order);
    the right end belongs to the last non-empty interval (Cox–de Boor recursion, 0/0 = 0)."""
    t = knots
    B = ((t[:-1] <= x[:, None]) & (x[:, None] < t[1:])).astype(float)
    B[x == t[-1], np.flatnonzero(t[:-1] < t[1:])[-1]] = 1.0
    for k in range(2, order + 1):
        left, right = t[k - 1 : -1] - t[:-k], t[k:] - t[1 : 1 - k]
        a = np.divide(x[:, None] - t[:-k], left, out=np.zeros((x.size, left.size)), where=left > 0)
        b = np.divide(t[k:] - x[:, None], right, out=np.zeros((x.size, right.size)), where=right > 0)
        B = a * B[:, :-1] + b * B[:, 1:]
    return B


def mspline_basis(x: np.ndarray, interior: np.ndarray, end: float, degree: int = DEGREE):
    """(M, I): the M-splines (each integrating to 1 over [0, end]) and I-splines (their integrals from 0) at x,
    each (n, len(interior) + degree + 1). Beyond ``end`` M stays at its value at ``end`` and I grows linearly."""
    x = np.asarray(x, float)
    order = degree + 1
    inner = np.asarray(interior, float)
    xc = np.clip(x, 0.0, end)
    knots = np.concatenate([np.zeros(order), inner, np.full(order, end)])
    M = _bsplines(xc, knots, order) * (order / (knots[order:] - knots[:-order]))
    wider = np.concatenate([[0.0], knots, [end]])  # one more knot at each end: order + 1
    above = _bsplines(xc, wider, order + 1)[:, ::-1].cumsum(axis=1)[:, ::-1]  # Σ_{j ≥ i} of order + 1
    I = above[:, 1:] + M * np.maximum(x - end, 0.0)[:, None]
    return M, I


class MSpline(SurvivalFamily):
    name = "mspline"
    label = "M-spline proportional-hazards"
    baseline_words = "a cubic M-spline"
    short = "M-spline"
    defaults: ClassVar[dict] = {"intercept_sigma": 2.0, "mspline_coefs": Dirichlet(1.0)}
    basis_names = ("M", "I")
    diagnostic_vars = ("intercept", "mspline_coefs")

    def default_points(self, data, spec):
        """Interior knots at the event-time quantiles j/m, j = 1..m−1, m = ``n_intervals`` (default 3)."""
        m = spec.n_intervals or DEFAULT_INTERVALS
        return np.unique(np.round(np.quantile(data.time[data.event > 0], np.arange(1, m) / m), 6))

    def setup(self, data, spec, anchors):
        points = self.points(data, spec)
        interior = points[(points > 0) & (points < anchors.t_end)]  # knots inside the boundary knots only
        return {"interior": interior, "t_end": anchors.t_end, "n_basis": interior.size + DEGREE + 1}

    def structure(self, setup, spec):
        return (setup["n_basis"],)

    def coords(self, data, setup):
        return {"patient": list(data.ids), "basis": list(range(setup["n_basis"]))}

    def baseline_priors(self, settings, setup, spec, anchors):
        return {"intercept": Normal(np.log(anchors.rate * anchors.t_end), settings["intercept_sigma"]),
                "mspline_coefs": settings["mspline_coefs"].of_size(setup["n_basis"])}

    def add_baseline(self, priors, hyper, setup):
        return {"intercept": priors["intercept"].to_pymc("intercept", hyper["intercept"]),
                "mspline_coefs": priors["mspline_coefs"].to_pymc("mspline_coefs", hyper["mspline_coefs"], dims="basis")}

    def parameters(self, spec):
        return ("intercept", "mspline_coefs")

    def time_basis(self, t, setup):
        M, I = mspline_basis(t, setup["interior"], setup["t_end"])
        return {"M": M, "I": I}

    def log_hazard(self, basis, setup, theta, eta, xp):
        return theta["intercept"] + eta + xp.log(rowdot(basis["M"], theta["mspline_coefs"]))

    def log_cum_hazard(self, basis, setup, theta, eta, xp):
        return theta["intercept"] + eta + xp.log(rowdot(basis["I"], theta["mspline_coefs"]))

    def describe(self, settings, fits, fmt):
        sizes = sorted({len(spec.get("cuts") or ()) + DEGREE + 1 for _, spec in fits})
        return (f"M-spline: cubic M-splines of time ({' or '.join(fmt(k, 'count') for k in sizes)} basis functions, "
                "interior knots at event-time quantiles), coefficients on the simplex ~ "
                f"{settings['mspline_coefs'].text(lambda v: fmt(v, 'real'))}; the log cumulative baseline hazard at "
                "the last follow-up ~ Normal(log(crude event rate × last follow-up), "
                f"{fmt(settings['intercept_sigma'], 'real')})")


FAMILY = MSpline()
