"""Priors for response rates and other proportions: Beta priors, robust Beta mixtures, named prior sets.

Every prior is an immutable value that round-trips to JSON (``to_dict``/``prior_from_dict``,
``to_json``/``prior_from_json``). A prior for one group's rate is a :class:`BetaPrior` or a
:class:`MixturePrior` (a finite mixture of Betas); both expose the same small distribution interface
(``pdf``, ``cdf``, ``mean``, ``ppf``, ``rvs``) so the closed-form posterior code in
:mod:`hccbayes.models.response.beta_binomial` handles them alike.

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

Named prior sets
----------------
A :class:`ResponsePriorSet` gives each group of one comparison its prior. The beta-binomial sets are the two
that hold no belief about the difference: ``vague`` (Jeffreys) and ``weakly_informative`` (uniform), and robust
external-data sets (:func:`external_prior_set`). The clinical sets (skeptical, enthusiastic, pessimistic) put
their belief on the log odds ratio, calibrated like the survival sets and without taking anything from the data
they analyse: :mod:`hccbayes.models.response.logistic`.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any, Mapping

import numpy as np
from scipy import special, stats

DEFAULT_PRIOR_SET = "weakly_informative"


@dataclass(frozen=True)
class BetaPrior:
    """Beta(a, b) prior (or posterior) for one proportion."""

    a: float
    b: float
    label: str = ""

    def __post_init__(self):
        if not (self.a > 0 and self.b > 0 and math.isfinite(self.a) and math.isfinite(self.b)):
            raise ValueError(f"Beta parameters must be finite and > 0, got a={self.a}, b={self.b}")

    # -- distribution interface -----------------------------------------------------------------
    @property
    def dist(self):
        return stats.beta(self.a, self.b)

    @cached_property
    def _log_beta(self) -> float:
        return float(special.betaln(self.a, self.b))

    def pdf(self, p):
        """Density via scipy.special / math (stats.beta's per-call overhead dominated the quadrature of
        :func:`hccbayes.models.response.beta_binomial.prob_greater`); a scalar inside (0, 1) takes the math path."""
        if isinstance(p, float) and 0.0 < p < 1.0:
            return math.exp((self.a - 1.0) * math.log(p) + (self.b - 1.0) * math.log1p(-p) - self._log_beta)
        return np.exp(special.xlogy(self.a - 1.0, p) + special.xlog1py(self.b - 1.0, -p) - self._log_beta)

    def cdf(self, p):
        """Regularised incomplete beta function I_p(a, b)."""
        return special.betainc(self.a, self.b, p)

    def ppf(self, q):
        return stats.beta.ppf(q, self.a, self.b)

    def mean(self) -> float:
        return self.a / (self.a + self.b)

    def rvs(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.beta(self.a, self.b, size=size)

    @property
    def ess(self) -> float:
        """Effective sample size a + b."""
        return self.a + self.b

    def update(self, x: int, n: int) -> "BetaPrior":
        """Conjugate posterior after x events in n: Beta(a + x, b + n − x)."""
        _check_counts(x, n)
        return BetaPrior(self.a + x, self.b + n - x, self.label)

    def log_marginal(self, x: int, n: int) -> float:
        """log of the beta-binomial marginal likelihood without the binomial coefficient:
        log B(a + x, b + n − x) − log B(a, b)."""
        return float(special.betaln(self.a + x, self.b + n - x) - special.betaln(self.a, self.b))

    def to_dict(self) -> dict[str, Any]:
        return {"type": "beta", **asdict(self)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)


@dataclass(frozen=True)
class MixturePrior:
    """A finite mixture of Beta priors: sum_k w_k Beta(a_k, b_k); weights are normalised on creation."""

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

    def rvs(self, rng: np.random.Generator, size: int) -> np.ndarray:
        which = rng.choice(len(self.components), size=size, p=np.asarray(self.weights))
        a = np.array([c.a for c in self.components])[which]
        b = np.array([c.b for c in self.components])[which]
        return rng.beta(a, b)

    @property
    def ess(self) -> float:
        """Weighted effective sample size sum_k w_k (a_k + b_k) (a simple summary; see Morita et al. for
        the ESS of mixtures)."""
        return float(sum(w * c.ess for w, c in zip(self.weights, self.components)))

    def to_dict(self) -> dict[str, Any]:
        return {"type": "mixture", "weights": list(self.weights),
                "components": [c.to_dict() for c in self.components], "label": self.label}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)


RatePrior = BetaPrior | MixturePrior


def _check_counts(x: int, n: int) -> None:
    if not (0 <= x <= n):
        raise ValueError(f"need 0 <= events <= total, got {x} of {n}")


def prior_from_dict(d: Mapping[str, Any]) -> RatePrior:
    """Inverse of ``to_dict`` for both prior types."""
    kind = d.get("type")
    if kind == "beta":
        return BetaPrior(float(d["a"]), float(d["b"]), d.get("label", ""))
    if kind == "mixture":
        return MixturePrior(tuple(d["weights"]), tuple(prior_from_dict(c) for c in d["components"]),
                            d.get("label", ""))
    raise ValueError(f"unknown prior type {kind!r}; expected 'beta' or 'mixture'")


def prior_from_json(text: str) -> RatePrior:
    return prior_from_dict(json.loads(text))


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


# ---- named prior sets --------------------------------------------------------------------------------
@dataclass(frozen=True)
class ResponsePriorSet:
    """A named rule giving each group of one comparison its prior.

    ``kind`` is ``fixed`` (the same ``base`` prior for every group) or ``external`` (``external`` maps group ->
    (events, total), made robust with weight ``weight``; groups without external data get ``base``).
    """

    name: str
    kind: str
    description: str
    base: BetaPrior = field(default_factory=uniform)
    external: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    weight: float = 0.5

    def priors(self, counts: Mapping[str, tuple[int, int]], reference: str) -> dict[str, RatePrior]:
        """One prior per group of ``counts`` (group -> (events, total)); ``reference`` is the control."""
        if self.kind == "fixed":
            return {g: self.base for g in counts}
        if self.kind == "external":
            return {g: robust(informative(*self.external[g]), self.weight) if g in self.external else self.base
                    for g in counts}
        raise ValueError(f"unknown prior-set kind {self.kind!r}")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["base"] = self.base.to_dict()
        d["external"] = {k: list(v) for k, v in self.external.items()}
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "ResponsePriorSet":
        d = dict(d)
        d["base"] = prior_from_dict(d["base"])
        d["external"] = {k: tuple(v) for k, v in d.get("external", {}).items()}
        return cls(**d)


CLINICAL_SETS = ("skeptical", "enthusiastic", "pessimistic")


def response_prior_sets() -> dict[str, ResponsePriorSet]:
    """The beta-binomial named sets, with no belief about the difference between groups.

    - ``vague``: Jeffreys Beta(1/2, 1/2) for every group — the reference prior, closest to the frequentist
      analysis (effective sample size 1).
    - ``weakly_informative`` (the default): Beta(1, 1) for every group — every rate equally likely a priori
      (effective sample size 2).

    The clinical sets of a response comparison are on the log-odds scale: :mod:`hccbayes.models.response.logistic`.
    """
    return {
        "vague": ResponsePriorSet("vague", "fixed", "Jeffreys Beta(1/2,1/2) for every group", jeffreys()),
        "weakly_informative": ResponsePriorSet("weakly_informative", "fixed",
                                               "uniform Beta(1,1) for every group", uniform()),
    }


def external_prior_set(external: Mapping[str, tuple[float, float]], weight: float = 0.5,
                       name: str = "robust_external") -> ResponsePriorSet:
    """Robust mixture priors from external data per group: w · Beta(1 + x, 1 + n − x) + (1 − w) · Beta(1, 1);
    groups without external data get Beta(1, 1)."""
    return ResponsePriorSet(name, "external", f"robust mixture of external data (w={weight:g}) and Beta(1,1)",
                            uniform(), external=dict(external), weight=weight)


def get_response_prior_set(name: str | ResponsePriorSet) -> ResponsePriorSet:
    if isinstance(name, ResponsePriorSet):
        return name
    if name in CLINICAL_SETS:
        raise KeyError(f"the {name} set of a response comparison is a belief about the log odds ratio: use "
                       "hccbayes.models.response.logistic (log_odds_priors, compare_rates_logistic), as the run "
                       "engine does")
    sets = response_prior_sets()
    if name not in sets:
        raise KeyError(f"unknown response prior set {name!r}; use one of {', '.join(sets)}")
    return sets[name]
