"""Priors of response rates and other proportions: Beta priors, robust Beta mixtures and the rule that
turns one comparison's counts into one prior per group (the response part of a prior set).

A prior for one group's rate is a :class:`BetaPrior` or a :class:`MixturePrior` (a finite mixture of Betas),
both :class:`~hccbayes.models.priors.values.Prior` values (log density, PyMC variable, numpy draws, JSON);
they also share a small distribution interface (``pdf``, ``cdf``, ``mean``, ``ppf``, ``rvs``) so the
closed-form posterior code in :mod:`hccbayes.models.response.beta_binomial` handles them alike.

Informative Betas from external data
------------------------------------
``informative(events, total)`` returns **Beta(1 + x, 1 + n − x)**: the posterior of the external
data x/n under a uniform Beta(1, 1) prior, i.e. the uniform prior plus n pseudo-patients (effective
sample size n + 2). An optional power-prior discount ``a0`` in (0, 1] down-weights the external data to
Beta(1 + a0·x, 1 + a0·(n − x)).

Robust mixtures
---------------
``robust(informative_prior, weight=w)`` is w · informative + (1 − w) · Beta(1, 1) (Schmidli et al.
2014, Biometrics 70:1023; RBesT ``robustify``). The vague component lets the data overrule an
informative component that conflicts with them; the posterior weights are updated in
:func:`hccbayes.models.response.beta_binomial.posterior`.

The rule of a prior set
-----------------------
A :class:`RateRule` gives each group of one comparison its prior: ``fixed`` (the same Beta for every group:
Jeffreys under ``vague``, uniform under ``weakly_informative``; no belief about the difference), ``external``
(robust mixtures of external data, :func:`~hccbayes.models.priors.sets.external_prior_set`) or ``log_odds``:
the clinical sets (skeptical, enthusiastic, pessimistic) put their belief on the log odds ratio, calibrated
like the survival sets and without taking anything from the data they analyse, and are computed by
:mod:`hccbayes.models.response.logistic`, not by per-group Betas.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar

import numpy as np
from scipy import special

from hccbayes.models.priors.values import Prior, prior_from_dict


def _check_counts(x: int, n: int) -> None:
    if not (0 <= x <= n):
        raise ValueError(f"need 0 <= events <= total, got {x} of {n}")


@dataclass(frozen=True)
class BetaPrior(Prior):
    """Beta(a, b) prior (or posterior) for one proportion."""

    family: ClassVar[str] = "beta"
    pymc = ("Beta", {"a": "alpha", "b": "beta"})
    a: float
    b: float
    label: str = ""

    def __post_init__(self):
        if not (self.a > 0 and self.b > 0 and math.isfinite(self.a) and math.isfinite(self.b)):
            raise ValueError(f"Beta parameters must be finite and > 0, got a={self.a}, b={self.b}")

    # -- distribution interface -----------------------------------------------------------------
    @cached_property
    def _log_beta(self) -> float:
        return float(special.betaln(self.a, self.b))

    def logpdf(self, p):
        return special.xlogy(self.a - 1.0, p) + special.xlog1py(self.b - 1.0, -p) - self._log_beta

    def pdf(self, p):
        """Density via scipy.special / math (stats.beta's per-call overhead dominated the quadrature of
        :func:`hccbayes.models.response.beta_binomial.prob_greater`); a scalar inside (0, 1) takes the math path."""
        if isinstance(p, float) and 0.0 < p < 1.0:
            return math.exp((self.a - 1.0) * math.log(p) + (self.b - 1.0) * math.log1p(-p) - self._log_beta)
        return np.exp(self.logpdf(p))

    def cdf(self, p):
        """Regularised incomplete beta function I_p(a, b)."""
        return special.betainc(self.a, self.b, p)

    def ppf(self, q):
        from scipy import stats

        return stats.beta.ppf(q, self.a, self.b)

    def mean(self) -> float:
        return self.a / (self.a + self.b)

    def rvs(self, rng: np.random.Generator, size=None) -> np.ndarray:
        return rng.beta(self.a, self.b, size=size)

    def update(self, x: int, n: int) -> BetaPrior:
        """Conjugate posterior after x events in n: Beta(a + x, b + n − x)."""
        _check_counts(x, n)
        return BetaPrior(self.a + x, self.b + n - x, self.label)

    def log_marginal(self, x: int, n: int) -> float:
        """log of the beta-binomial marginal likelihood without the binomial coefficient:
        log B(a + x, b + n − x) − log B(a, b)."""
        return float(special.betaln(self.a + x, self.b + n - x) - special.betaln(self.a, self.b))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> BetaPrior:
        return cls(float(d["a"]), float(d["b"]), d.get("label", ""))


@dataclass(frozen=True)
class MixturePrior(Prior):
    """A finite mixture of Beta priors: sum_k w_k Beta(a_k, b_k); weights are normalised on creation."""

    family: ClassVar[str] = "mixture"
    weights: tuple[float, ...]
    components: tuple[BetaPrior, ...]
    label: str = ""

    def __post_init__(self):
        if len(self.weights) != len(self.components) or not self.components:
            raise ValueError("a mixture needs as many weights as components (at least one)")
        w = np.asarray(self.weights, dtype=float)
        if np.any(w < 0) or not np.isfinite(w).all() or w.sum() <= 0:
            raise ValueError(f"mixture weights must be finite, >= 0 and not all 0, got {self.weights}")
        object.__setattr__(self, "weights", tuple(float(v) for v in w / w.sum()))
        object.__setattr__(self, "components", tuple(self.components))

    def logpdf(self, p):
        return special.logsumexp([math.log(w) + c.logpdf(p) if w > 0 else np.full(np.shape(p), -np.inf)
                                  for w, c in zip(self.weights, self.components)], axis=0)

    def pdf(self, p):
        return sum(w * c.pdf(p) for w, c in zip(self.weights, self.components))

    def cdf(self, p):
        return sum(w * c.cdf(p) for w, c in zip(self.weights, self.components))

    def mean(self) -> float:
        return float(sum(w * c.mean() for w, c in zip(self.weights, self.components)))

    def ppf(self, q):
        """Quantiles by root-finding on the mixture cdf (monotone, bracketed by [0, 1])."""
        from scipy.optimize import brentq

        def one(qq: float) -> float:
            if qq <= 0:
                return 0.0
            if qq >= 1:
                return 1.0
            return brentq(lambda p: self.cdf(p) - qq, 0.0, 1.0, xtol=1e-12, rtol=1e-12)

        q_arr = np.asarray(q, dtype=float)
        out = np.vectorize(one, otypes=[float])(q_arr)
        return float(out) if out.ndim == 0 else out

    def rvs(self, rng: np.random.Generator, size=None) -> np.ndarray:
        which = rng.choice(len(self.components), size=size, p=np.asarray(self.weights))
        a = np.array([c.a for c in self.components])[which]
        b = np.array([c.b for c in self.components])[which]
        return rng.beta(a, b)

    def to_pymc(self, name, hyper=None, **kwargs):
        import pymc as pm

        comps = [pm.Beta.dist(alpha=c.a, beta=c.b) for c in self.components]
        return pm.Mixture(name, w=np.asarray(self.weights), comp_dists=comps, **kwargs)

    def to_dict(self) -> dict[str, Any]:
        return {"family": self.family, "weights": list(self.weights),
                "components": [c.to_dict() for c in self.components], "label": self.label}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> MixturePrior:
        return cls(tuple(d["weights"]), tuple(prior_from_dict(c) for c in d["components"]), d.get("label", ""))


RatePrior = BetaPrior | MixturePrior


# ---- constructors ----------------------------------------------------------------------------------
def uniform() -> BetaPrior:
    """Beta(1, 1): flat on the rate (effective sample size 2)."""
    return BetaPrior(1.0, 1.0, "uniform Beta(1,1)")


def jeffreys() -> BetaPrior:
    """Jeffreys prior Beta(1/2, 1/2): invariant to reparametrisation, effective sample size 1."""
    return BetaPrior(0.5, 0.5, "Jeffreys Beta(1/2,1/2)")


def informative(events: float, total: float, a0: float = 1.0, label: str = "") -> BetaPrior:
    """Beta(1 + a0·x, 1 + a0·(n − x)) from external data x events of n (uniform prior updated by the
    external data, power-prior discounted by a0 in (0, 1])."""
    if not (0 <= events <= total) or total <= 0:
        raise ValueError(f"external data need 0 <= events <= total and total > 0, got {events}/{total}")
    if not (0 < a0 <= 1):
        raise ValueError(f"power-prior discount a0 must be in (0, 1], got {a0}")
    return BetaPrior(1.0 + a0 * events, 1.0 + a0 * (total - events),
                     label or f"informative {events:g}/{total:g} (a0={a0:g})")


def robust(component: BetaPrior, weight: float = 0.5, vague: BetaPrior | None = None) -> MixturePrior:
    """Robust mixture w · component + (1 − w) · vague, vague = Beta(1, 1) by default."""
    if not (0 <= weight <= 1):
        raise ValueError(f"mixture weight must be in [0, 1], got {weight}")
    vague = vague or uniform()
    return MixturePrior((weight, 1.0 - weight), (component, vague),
                        f"robust({component.label or 'informative'}, w={weight:g})")


# ---- the response part of a prior set ------------------------------------------------------------------
@dataclass(frozen=True)
class RateRule:
    """How a prior set gives each group of one comparison its prior.

    ``kind`` is ``fixed`` (the same ``base`` prior for every group), ``external`` (``external`` maps group ->
    (events, total), made robust with weight ``weight``; groups without external data get ``base``) or
    ``log_odds`` (a belief about the log odds ratio: no per-group Betas, see the module docstring).
    """

    kind: str
    description: str
    base: BetaPrior = field(default_factory=uniform)
    external: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    weight: float = 0.5

    def priors(self, counts: Mapping[str, tuple[int, int]], reference: str, name: str = "") -> dict[str, RatePrior]:
        """One prior per group of ``counts`` (group -> (events, total)); ``reference`` is the control."""
        if self.kind == "fixed":
            return {g: self.base for g in counts}
        if self.kind == "log_odds":
            raise KeyError(f"the {name or 'clinical'} set of a response comparison is a belief about the log odds "
                           "ratio: use hccbayes.models.response.logistic (log_odds_priors, compare_rates_logistic), "
                           "as the run engine does")
        if self.kind == "external":
            return {g: robust(informative(*self.external[g]), self.weight) if g in self.external else self.base
                    for g in counts}
        raise ValueError(f"unknown prior-set kind {self.kind!r}")

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "description": self.description, "base": self.base.to_dict(),
                "external": {k: list(v) for k, v in self.external.items()}, "weight": self.weight}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RateRule:
        d = dict(d)
        d["base"] = prior_from_dict(d["base"])
        d["external"] = {k: tuple(v) for k, v in d.get("external", {}).items()}
        return cls(**d)


