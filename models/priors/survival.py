"""Priors as data: immutable, JSON-round-tripping specifications and named prior sets.

A survival model's priors come in two parts:

* the **effect priors** on log hazard ratios (the treatment contrast and the covariates), which the
  named prior sets define — these are what a sensitivity analysis varies;
* the **baseline priors** (Weibull shape and intercept, piecewise-exponential log hazards and their
  smoothing, between-regimen heterogeneity), documented below and held fixed across prior sets.

Every hyperparameter enters the PyMC model as ``pm.Data``, so one compiled model serves a whole grid of
prior sets (see :mod:`hccbayes.inference.fitting.fit`).

Named prior sets for the log-HR of the *primary contrast* of an analysis (``mcid`` is the minimal
clinically important hazard ratio, default 0.7; z95 = 1.6449 is the standard normal 95th percentile):

=====================  ========================================================================
set                    log-HR prior of the primary contrast (other terms in brackets)
=====================  ========================================================================
vague                  Normal(0, 10) — essentially flat over any plausible HR (all terms)
weakly_informative     Normal(0, 1): 95% prior mass on HR 0.14–7.1 (all terms). The default.
skeptical              Normal(0, s), s = −ln(mcid)/z95: centred on HR 1 with P(HR < mcid) = 0.05
                       (other terms weakly_informative)
enthusiastic           Normal(ln mcid, s): centred on the MCID with P(HR > 1) = 0.05
                       (other terms weakly_informative)
pessimistic            Normal(−ln mcid, s): the mirror of enthusiastic, P(HR < 1) = 0.05
                       (other terms weakly_informative)
=====================  ========================================================================
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

import numpy as np

Z95 = 1.6448536269514722  # standard normal 0.95 quantile
DEFAULT_MCID = 0.7
DEFAULT_PRIOR_SET = "weakly_informative"


@dataclass(frozen=True)
class Normal:
    """Normal(mu, sigma) on the real line."""

    mu: float
    sigma: float
    family: str = field(default="normal", init=False)

    def logpdf(self, x):
        z = (np.asarray(x) - self.mu) / self.sigma
        return -0.5 * z * z - math.log(self.sigma) - 0.5 * math.log(2 * math.pi)


@dataclass(frozen=True)
class LogNormal:
    """LogNormal: log(x) ~ Normal(mu, sigma)."""

    mu: float
    sigma: float
    family: str = field(default="lognormal", init=False)

    def logpdf(self, x):
        x = np.asarray(x)
        return Normal(self.mu, self.sigma).logpdf(np.log(x)) - np.log(x)


@dataclass(frozen=True)
class HalfNormal:
    """HalfNormal(sigma) on x > 0."""

    sigma: float
    family: str = field(default="halfnormal", init=False)

    def logpdf(self, x):
        return Normal(0.0, self.sigma).logpdf(x) + math.log(2.0)


_FAMILIES = {"normal": Normal, "lognormal": LogNormal, "halfnormal": HalfNormal}


def prior_to_dict(prior) -> dict[str, Any]:
    return asdict(prior)


def prior_from_dict(d: Mapping[str, Any]):
    d = dict(d)
    family = d.pop("family")
    if family not in _FAMILIES:
        raise ValueError(f"unknown prior family {family!r}; use one of {sorted(_FAMILIES)}")
    return _FAMILIES[family](**d)


@dataclass(frozen=True)
class BaselinePriors:
    """Priors of the baseline hazard and of between-regimen heterogeneity (fixed across prior sets).

    * ``intercept_sigma``: the log cumulative baseline hazard at the reference time (the median
      follow-up) is Normal(log(crude rate × reference time), intercept_sigma); the crude rate is
      events / person-time of the data, so the prior is centred on what a constant hazard would give.
    * ``weibull_shape``: LogNormal(0, 0.5) — shape 1 (constant hazard) at the centre, 95% in 0.38–2.7.
    * ``pem_log_hazard_sigma``: independent PEM log hazards are Normal(log crude rate, 2) each.
    * ``pem_rw_sigma``: with random-walk smoothing, the first log hazard is Normal(log crude rate, 2)
      and the increments between adjacent intervals are Normal(0, σ_rw), σ_rw ~ HalfNormal(0.5).
    * ``regimen_tau``: regimen log-HRs scatter around their arm's log-HR with sd τ ~ HalfNormal(0.5)
      (non-centred), one τ per arm.
    """

    intercept_sigma: float = 2.0
    weibull_shape: LogNormal = LogNormal(0.0, 0.5)
    pem_log_hazard_sigma: float = 2.0
    pem_rw_sigma: HalfNormal = HalfNormal(0.5)
    regimen_tau: HalfNormal = HalfNormal(0.5)


@dataclass(frozen=True)
class PriorSet:
    """A named prior set: the log-HR prior of the primary contrast and of the other terms."""

    name: str
    description: str
    contrast: Normal
    other: Normal
    baseline: BaselinePriors = BaselinePriors()
    mcid: float | None = None

    def for_terms(self, terms: tuple[str, ...], primary: str | None) -> list[Normal]:
        """The log-HR prior of each term; ``primary`` is the term that carries the contrast prior."""
        return [self.contrast if t == primary else self.other for t in terms]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "contrast": prior_to_dict(self.contrast),
            "other": prior_to_dict(self.other),
            "baseline": {k: (prior_to_dict(v) if hasattr(v, "family") else v)
                         for k, v in asdict(self.baseline).items()},
            "mcid": self.mcid,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "PriorSet":
        base = {}
        for k, v in dict(d.get("baseline", {})).items():
            base[k] = prior_from_dict(v) if isinstance(v, Mapping) and "family" in v else v
        return cls(name=d["name"], description=d["description"], contrast=prior_from_dict(d["contrast"]),
                   other=prior_from_dict(d["other"]), baseline=BaselinePriors(**base), mcid=d.get("mcid"))

    @classmethod
    def from_json(cls, text: str) -> "PriorSet":
        return cls.from_dict(json.loads(text))


def _clinical_sigma(mcid: float) -> float:
    if not 0 < mcid < 1:
        raise ValueError(f"the MCID is a hazard ratio below 1, got {mcid}")
    return -math.log(mcid) / Z95


def prior_set(name: str, mcid: float = DEFAULT_MCID) -> PriorSet:
    """One of the five named prior sets (see the module docstring for their definitions)."""
    weak = Normal(0.0, 1.0)
    s = _clinical_sigma(mcid)
    lm = math.log(mcid)
    if name == "vague":
        return PriorSet(name, "vague: every log-HR ~ Normal(0, 10), essentially flat over plausible HRs",
                        Normal(0.0, 10.0), Normal(0.0, 10.0))
    if name == "weakly_informative":
        return PriorSet(name, "weakly informative: every log-HR ~ Normal(0, 1), 95% prior mass on HR "
                        "0.14-7.1", weak, weak)
    if name == "skeptical":
        return PriorSet(name, f"skeptical: contrast log-HR ~ Normal(0, {s:.4f}), centred on HR 1 with 5% "
                        f"prior probability of HR < {mcid:g}; other terms Normal(0, 1)", Normal(0.0, s), weak,
                        mcid=mcid)
    if name == "enthusiastic":
        return PriorSet(name, f"enthusiastic: contrast log-HR ~ Normal(ln {mcid:g}, {s:.4f}), centred on "
                        f"HR {mcid:g} with 5% prior probability of HR > 1; other terms Normal(0, 1)",
                        Normal(lm, s), weak, mcid=mcid)
    if name == "pessimistic":
        return PriorSet(name, f"pessimistic: contrast log-HR ~ Normal(-ln {mcid:g}, {s:.4f}), centred on "
                        f"HR {1 / mcid:.3g} with 5% prior probability of HR < 1; other terms Normal(0, 1)",
                        Normal(-lm, s), weak, mcid=mcid)
    raise KeyError(f"unknown prior set {name!r}; use one of {', '.join(PRIOR_SET_NAMES)}")


PRIOR_SET_NAMES = ("vague", "weakly_informative", "skeptical", "enthusiastic", "pessimistic")

