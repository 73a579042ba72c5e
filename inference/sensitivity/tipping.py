"""Tipping points: the prior at which a posterior probability such as P(HR < 1) crosses a target.

The search is generic over ``evaluate(x) -> probability`` for a scalar prior parameter ``x`` that moves
the probability monotonically (a prior mean, the MCID a skeptical prior encodes, ...):

1. **bracketing** — evaluate both ends of the start interval; when the target is not between them, step
   the end whose probability is nearer the target outwards (by ``expand`` × the width, within
   ``bounds``) until it is, or report that the probability does not cross the target there;
2. **Illinois (modified regula falsi) on the probit scale** — g(x) = Φ⁻¹(p(x)) − Φ⁻¹(target) is nearly
   linear in a prior mean for a normal posterior (exactly linear for the conjugate normal–normal model),
   so the secant step converges in a few evaluations while the bracket is always kept; the Illinois
   halving of the stale end's value avoids one-sided stagnation.

It stops when |p − target| ≤ ``ptol`` (set ``ptol`` to the Monte Carlo standard error for MCMC
evaluations: the search cannot resolve the crossing better than that), when the bracket is narrower
than ``xtol``, or after ``max_evals`` evaluations (then the answer is the probit-linear interpolation
inside the last bracket and ``converged`` is False). Evaluations are memoised in ``memo`` so several
targets (0.95 and 0.5) can share points; every evaluated point is kept as the curve.

The survival-model evaluators (:func:`prior_mean_evaluator`, :func:`skeptical_mcid_evaluator`) refit
the compiled model with ``with_data`` (one compile per model structure, fixed seed = common random
numbers across evaluations); the conjugate counterparts (:func:`conjugate_mean_evaluator`,
:func:`conjugate_mcid_evaluator`) use :mod:`hccbayes.models.summary_hr` and serve as the closed-form
check of the search.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np
from scipy import special

from hccbayes.inference.engine.table import row
from hccbayes.inference.fitting.cache import sample_with_gate
from hccbayes.inference.fitting.fit import diagnostics_of
from hccbayes.models.priors.sets import PriorSet, prior_set, skeptical_sigma
from hccbayes.models.priors.values import Normal
from hccbayes.models.summary_hr import normal_update

log = logging.getLogger(__name__)

EPS = 1e-12  # probabilities are clipped to [EPS, 1 - EPS] before the probit transform


@dataclass(frozen=True)
class TippingPoint:
    """Result of one search. ``points`` is the evaluated curve (x, probability), sorted by x."""

    parameter: str
    target: float
    value: float  # NaN when the target is not crossed within ``bounds``
    bracket: tuple[float, float] | None
    points: tuple[tuple[float, float], ...]
    converged: bool
    evaluations: int  # new evaluations of this search (memoised points are free)
    note: str = ""
    se: float = float("nan")  # Monte Carlo uncertainty of ``value`` (ptol / |dp/dx|) when known
    gate_failures: int = 0  # evaluated points whose refit failed the diagnostics gate (after one automatic refit)

    @property
    def crossed(self) -> bool:
        return math.isfinite(self.value)

    def to_dict(self) -> dict:
        return {"parameter": self.parameter, "target": self.target, "value": self.value, "se": self.se,
                "bracket": list(self.bracket) if self.bracket else None, "converged": self.converged,
                "evaluations": self.evaluations, "note": self.note, "points": [list(p) for p in self.points],
                "gate_failures": self.gate_failures}


@dataclass
class _Search:
    evaluate: Callable[[float], float]
    target: float
    memo: dict[float, float]
    max_evals: int
    eps: float
    new: int = 0
    log: list = field(default_factory=list)

    def p(self, x: float) -> float:
        x = float(x)
        if x not in self.memo:
            if self.new >= self.max_evals:
                raise _Exhausted
            self.memo[x] = float(self.evaluate(x))
            self.new += 1
            log.debug("tipping search: p(%g) = %.6f", x, self.memo[x])
        return self.memo[x]

    def g(self, x: float) -> float:
        p = min(max(self.p(x), self.eps), 1 - self.eps)
        return float(special.ndtri(p) - special.ndtri(self.target))


class _Exhausted(Exception):
    pass


def _bracket(s: _Search, lo: float, hi: float, bounds: tuple[float, float], expand: float):
    """(a, ga, b, gb) with ga·gb ≤ 0, or None when the target is not crossed within ``bounds``."""
    a, b = lo, hi
    ga, gb = s.g(a), s.g(b)
    while ga * gb > 0:
        width = (b - a) * expand
        if abs(ga) < abs(gb):  # monotone: the crossing lies beyond the end nearer the target
            if a <= bounds[0]:
                return None
            b, gb = a, ga
            a = max(bounds[0], a - width)
            ga = s.g(a)
        else:
            if b >= bounds[1]:
                return None
            a, ga = b, gb
            b = min(bounds[1], b + width)
            gb = s.g(b)
    return a, ga, b, gb


def find_tipping_point(evaluate: Callable[[float], float], target: float, lo: float, hi: float, *,
                       parameter: str = "x", bounds: tuple[float, float] = (-math.inf, math.inf),
                       max_evals: int = 12, xtol: float = 1e-10, ptol: float = 1e-12, expand: float = 1.0,
                       eps: float = EPS, memo: dict[float, float] | None = None) -> TippingPoint:
    """The x where ``evaluate(x)`` crosses ``target`` (see the module docstring for the method)."""
    if not 0 < target < 1:
        raise ValueError(f"target must be a probability in (0, 1), got {target}")
    if not lo < hi:
        raise ValueError(f"need lo < hi, got [{lo}, {hi}]")
    s = _Search(evaluate, target, {} if memo is None else memo, max_evals, eps)
    dens = math.exp(-0.5 * float(special.ndtri(target)) ** 2) / math.sqrt(2 * math.pi)
    ztol = ptol / dens  # |g| tolerance equivalent to ptol at the target (probit scale)
    value, bracket, converged, note = math.nan, None, False, ""
    try:
        found = _bracket(s, lo, hi, bounds, expand)
        if found is None:
            note = f"P does not cross {target:g} for {parameter} in [{max(bounds[0], lo):g}, {min(bounds[1], hi):g}] " \
                   "and its extension to the bounds"
        else:
            a, ga, b, gb = found
            side = 0
            while True:
                if abs(ga) <= ztol or abs(gb) <= ztol:
                    value, converged = (a if abs(ga) <= abs(gb) else b), True
                    break
                if abs(b - a) <= xtol:
                    value, converged = a - ga * (b - a) / (gb - ga), True
                    break
                x = a - ga * (b - a) / (gb - ga)
                gx = s.g(x)
                if gx * gb < 0:  # root in [x, b]: x replaces a
                    a, ga = b, gb
                    b, gb = x, gx
                    side = 0
                else:  # root in [a, x]: keep a, halve its value if it is kept twice (Illinois)
                    b, gb = x, gx
                    if side == 1:
                        ga /= 2
                    side = 1
            bracket = (min(a, b), max(a, b))
    except _Exhausted:
        if "a" in locals() and "b" in locals() and found is not None:
            value = a - ga * (b - a) / (gb - ga)
            bracket = (min(a, b), max(a, b))
            note = f"stopped after {max_evals} evaluations; value interpolated in the last bracket"
        else:
            note = f"stopped after {max_evals} evaluations before the target was bracketed"
    pts = tuple(sorted(s.memo.items()))
    se = _value_se(pts, value, ptol) if ptol > 1e-9 and math.isfinite(value) else math.nan
    return TippingPoint(parameter, target, float(value), bracket, pts, converged, s.new, note, se)


def _value_se(points, value: float, p_se: float) -> float:
    """p_se / |dp/dx| with the slope from the two evaluated points nearest ``value``."""
    xs = np.array([p[0] for p in points])
    ps = np.array([p[1] for p in points])
    if xs.size < 2:
        return math.nan
    near = np.argsort(np.abs(xs - value))[:2]
    slope = (ps[near[1]] - ps[near[0]]) / (xs[near[1]] - xs[near[0]])
    return float(p_se / abs(slope)) if slope != 0 else math.inf


# ---- evaluators --------------------------------------------------------------------------------------
def with_contrast(priors: PriorSet, mu: float, sigma: float, name: str) -> PriorSet:
    return replace(priors, name=name, contrast=Normal(float(mu), float(sigma)),
                   description=f"{name}: contrast log-HR ~ Normal({mu:.4f}, {sigma:.4f}); other terms as "
                   f"{priors.name}")


def conjugate_mean_evaluator(y: float, se: float, sigma: float, threshold: float = 1.0):
    """m -> P(HR < threshold) under prior N(m, sigma²) and the normal likelihood (y, se): closed form."""

    return lambda m: normal_update(y, se, m, sigma).prob_hr_below(threshold)


def conjugate_mcid_evaluator(y: float, se: float, threshold: float = 1.0):
    """mcid -> P(HR < threshold) under the skeptical prior N(0, skeptical_sigma(mcid)²): closed form."""

    return lambda mcid: normal_update(y, se, 0.0, skeptical_sigma(mcid)).prob_hr_below(threshold)


def searched_prior(kind: str, x: float, sigma: float) -> tuple[float, float]:
    """(mean, SD) of the log-HR prior at point ``x`` of a search: ``mean`` — Normal(x, sigma); ``mcid`` — the
    skeptical prior Normal(0, skeptical_sigma(x))."""
    return (float(x), float(sigma)) if kind == "mean" else (0.0, skeptical_sigma(x))


@dataclass
class MCMCEvaluator:
    """x -> P(HR_contrast < threshold) by refitting the compiled survival model under a changed
    contrast prior. ``kind`` is ``mean`` (prior Normal(x, sigma)) or ``mcid`` (prior
    Normal(0, skeptical_sigma(x))). Each call is one ``with_data`` refit with the same seed, through the
    run's diagnostics gate (:func:`~hccbayes.inference.fitting.cache.sample_with_gate`: a failing refit is
    refitted once with more care); the Monte Carlo standard error of each probability (from the ESS of the
    indicator) is kept in ``mcse``, the problems of a refit still failing the gate in ``failed``."""

    data: object
    spec: object
    base: PriorSet
    kind: str
    settings: object
    seed: int
    cache: object
    sigma: float = float("nan")
    threshold: float = 1.0
    mcse: dict = field(default_factory=dict)
    failed: dict = field(default_factory=dict)

    def __call__(self, x: float) -> float:
        mu, sd = searched_prior(self.kind, x, self.sigma)
        ps = with_contrast(self.base, mu, sd, f"tipping_{self.kind}")
        dt, _ = sample_with_gate(self.data, ps, self.spec, self.settings, self.seed, self.cache, pointwise=False)
        diagnostics = diagnostics_of(dt)
        if not diagnostics.ok:
            self.failed[float(x)] = "; ".join(diagnostics.problems())
            log.warning("tipping refit at %s = %g failed the diagnostics gate: %s", self.kind, x, self.failed[float(x)])
        log_hr = dt["posterior"]["log_hr"].sel(term=self.spec.contrast_term)
        below = (log_hr < math.log(self.threshold)).astype(float)
        p = float(below.mean())
        self.mcse[float(x)] = indicator_mcse(below)
        return p


def indicator_mcse(indicator) -> float:
    """Monte Carlo standard error of the mean of a (chain, draw) 0/1 indicator: sqrt(p(1−p)/ESS_mean)."""
    from arviz_stats import ess

    p = float(indicator.mean())
    if p in (0.0, 1.0):
        return 0.0
    n_eff = float(ess(indicator, sample_dims=["chain", "draw"], method="mean"))
    return math.sqrt(p * (1 - p) / max(n_eff, 1.0))


# ---- the survival-model search -----------------------------------------------------------------------
MEAN_BRACKET = (math.log(0.5), math.log(2.0))  # prior centred at HR 0.5 ... 2 to start
MEAN_BOUNDS = (-3.0, 3.0)  # HR 0.05 ... 20
MCID_BRACKET = (0.5, 0.95)
MCID_BOUNDS = (0.05, 0.999)
CENTRED_NOTE = ("not searched: a prior centred on HR 1 only shrinks the posterior mean towards 0, so "
                "P(HR < 1) stays on the likelihood's side of 0.5 for every prior strength")


def survival_tipping_points(data, spec, settings, seed: int, cache, mcid: float = 0.7,
                            base: PriorSet | None = None, targets: tuple[float, ...] = (0.95, 0.5),
                            max_evals: int = 12, threshold: float = 1.0) -> list[TippingPoint]:
    """Tipping points of P(HR_contrast < threshold) for one survival analysis, each evaluation a refit:

    * ``prior_mean`` — contrast prior Normal(m, σ_skeptical(mcid)): the prior mean m (log HR) at which
      P crosses each target (both 0.95 and 0.5 are crossed: m → ±∞ drives P to 0 or 1);
    * ``skeptical_mcid`` — contrast prior Normal(0, −ln(mcid)/z95): the MCID (prior strength) at which P
      crosses 0.95. A prior centred on HR 1 cannot take P across 0.5 (the posterior mean only shrinks
      towards 0), so targets ≤ 0.5 are reported as not crossed there, without evaluations.

    The searches themselves are :func:`tipping_searches`.
    """

    base = base or prior_set("weakly_informative")

    def refits(kind: str, sigma: float) -> MCMCEvaluator:
        return MCMCEvaluator(data, spec, base, kind, settings, seed, cache, sigma=sigma, threshold=threshold)

    return tipping_searches(refits, settings.chains * settings.draws, mcid=mcid, targets=targets, max_evals=max_evals)


def tipping_searches(make_evaluator: Callable[[str, float], Callable[[float], float]], n_draws: int,
                     mcid: float = 0.7, targets: tuple[float, ...] = (0.95, 0.5),
                     max_evals: int = 12) -> list[TippingPoint]:
    """The ``prior_mean`` and ``skeptical_mcid`` searches of :func:`survival_tipping_points` with the evaluators
    ``make_evaluator(kind, sigma)`` makes (kind ``mean`` | ``mcid``, as :class:`MCMCEvaluator`; an evaluator keeps
    each probability's Monte Carlo SE in ``mcse`` and the points whose fit failed the gate in ``failed``): refits
    by default, reweighting of a stored fit as an opt-in
    (:class:`hccbayes.inference.sensitivity.explore.ReweightEvaluator`).

    ``ptol`` of each search is the Monte Carlo standard error of a probability near the target with
    ESS = half the ``n_draws`` (conservative for these fits, whose ESS of the log HR is near the draw count);
    ``se`` of each result uses the MCSE actually estimated at the nearest evaluated point.
    """
    n_eff = n_draws / 2
    out = []
    for kind, bracket, bounds, kind_targets in (("mean", MEAN_BRACKET, MEAN_BOUNDS, targets),
                                                ("mcid", MCID_BRACKET, MCID_BOUNDS, targets)):
        ev = make_evaluator(kind, skeptical_sigma(mcid))
        memo: dict[float, float] = {}
        name = "prior_mean" if kind == "mean" else "skeptical_mcid"
        for t in kind_targets:
            if kind == "mcid" and t <= 0.5:
                out.append(TippingPoint(name, t, math.nan, None, (), False, 0, CENTRED_NOTE))
                continue
            ptol = math.sqrt(t * (1 - t) / n_eff)
            res = find_tipping_point(ev, t, *bracket, parameter=name, bounds=bounds, max_evals=max_evals,
                                     ptol=ptol, xtol=1e-3, memo=memo, eps=0.5 / n_draws)
            if res.crossed and ev.mcse:
                nearest = min(ev.mcse, key=lambda x: abs(x - res.value))
                res = replace(res, se=_value_se(res.points, res.value, ev.mcse[nearest]))
            failures = sum(x in ev.failed for x, _ in res.points)
            if failures:
                res = replace(res, gate_failures=failures, note="; ".join(filter(None, (
                    res.note, f"{failures} of its {len(res.points)} refits failed the diagnostics gate"))))
            out.append(res)
    return out


MC_Z = 1.96  # the half-width of a tipping point's interval in Monte Carlo SEs, printed as "±1.96 MC SE"


def tipping_rows(points: list[TippingPoint], base: dict, mcid: float, threshold: float = 1.0) -> list[dict]:
    """Comparison-table rows (quantity ``tipping_point``): estimate = the prior-median HR exp(m) for
    ``prior_mean`` or the MCID for ``skeptical_mcid``; lower/upper = ± 1.96 Monte Carlo SE; threshold =
    the target probability. A search with a refit that failed the diagnostics gate has ``diagnostics_ok``
    false and says how many, whatever the starting fit's diagnostics (``base``)."""
    rows = []
    for tp in points:
        gate = {}
        if tp.gate_failures:
            gate = {"diagnostics_ok": False, "diagnostics": "; ".join(filter(None, (
                base.get("diagnostics"), f"FAILED: {tp.gate_failures} refit(s) of this tipping-point search failed "
                "the diagnostics gate")))}
        to_scale = math.exp if tp.parameter == "prior_mean" else (lambda v: v)
        what = (f"prior centre (HR) of a Normal(m, {skeptical_sigma(mcid):.4f}) log-HR prior"
                if tp.parameter == "prior_mean" else "MCID encoded by a skeptical Normal(0, -ln(mcid)/1.645) prior")
        se = tp.se if math.isfinite(tp.se) else 0.0
        rows.append(row(**{**base, **gate, "quantity": "tipping_point", "threshold": tp.target,
                           "estimate": to_scale(tp.value) if tp.crossed else float("nan"),
                           "lower": to_scale(tp.value - MC_Z * se) if tp.crossed else float("nan"),
                           "upper": to_scale(tp.value + MC_Z * se) if tp.crossed else float("nan"),
                           "interval": "±1.96 MC SE" if tp.crossed else "",
                           "note": f"{what} at which P(HR < {threshold:g}) = {tp.target:g}; {tp.evaluations} refits"
                                   + (f"; {tp.note}" if tp.note else "")}))
    return rows
