"""Priors as values: every prior of the package — survival log-HRs and baselines, response-rate Betas and
their mixtures, the summary-level normal — is one kind of immutable value.

A prior value knows its **log density** (:meth:`Prior.logpdf`: numpy, xarray or PyTensor arrays alike), how
to become a **PyMC variable** (:meth:`Prior.to_pymc`, its hyperparameters given as tensors — e.g. ``pm.Data``,
so one compiled model serves every prior setting — or as its own numbers), how to **draw** from itself with
numpy (:meth:`Prior.rvs`, independent of PyMC: simulation-based calibration draws from here) and its **JSON**
form (``{"family": "normal", "mu": 0.0, "sigma": 1.0}``; :func:`prior_from_dict` / :func:`prior_from_json`
read every kind back). Kinds register themselves by their ``family`` name when they are defined.

The normal quantiles the package uses are defined here, named for what they are.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

import numpy as np
from scipy import special

Z_ONE_SIDED_95 = 1.6448536269514722  # Φ⁻¹(0.95): 5% of a normal prior's mass lies beyond z·σ on one side
Z_TWO_SIDED_95 = 1.959963984540054  # Φ⁻¹(0.975): a two-sided 95% interval (R's qnorm(0.975))
CI_PROB = 0.95  # the level of every credible and confidence interval the package reports

KINDS: dict[str, type[Prior]] = {}


def two_sided_z(ci_prob: float = CI_PROB) -> float:
    """z of a two-sided ``ci_prob`` normal interval (:data:`Z_TWO_SIDED_95` at the default level)."""
    return Z_TWO_SIDED_95 if ci_prob == CI_PROB else float(special.ndtri(0.5 + ci_prob / 2))


@dataclass(frozen=True)
class Prior:
    """Base of every prior kind. A kind is a frozen dataclass whose fields are its hyperparameters (numbers;
    arrays for a vector of independent priors of one kind) and sets the class variable ``family``."""

    family: ClassVar[str] = ""
    pymc: ClassVar[tuple[str, dict[str, str]]] = ("", {})  # the PyMC distribution and its parameter names

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.family:
            KINDS[cls.family] = cls

    def hyperparameters(self) -> dict[str, np.ndarray]:
        """The numeric fields as arrays, by name (what :meth:`to_pymc` takes as ``hyper``)."""
        return {f.name: np.asarray(getattr(self, f.name), dtype=float) for f in fields(self) if f.name != "label"}

    def to_pymc(self, name: str, hyper: Mapping[str, Any] | None = None, **kwargs):
        """The PyMC variable ``name`` with this prior (inside a model context); ``hyper`` replaces the numbers
        by tensors of the same names, ``kwargs`` (dims, shape) go to the distribution."""
        import pymc as pm

        dist, names = self.pymc
        given = dict(hyper) if hyper is not None else self.hyperparameters()
        return getattr(pm, dist)(name, **{names.get(k, k): v for k, v in given.items()}, **kwargs)

    def logpdf(self, x):
        raise NotImplementedError

    def rvs(self, rng: np.random.Generator, size=None):
        raise NotImplementedError

    def text(self, number=lambda v: f"{v:g}") -> str:
        """The prior in words for a methods section, e.g. ``LogNormal(0, 0.5)`` (``number`` formats numbers)."""
        return f"{type(self).__name__}({', '.join(number(float(v)) for v in self.hyperparameters().values())})"

    def to_dict(self) -> dict[str, Any]:
        return {"family": self.family, **asdict(self)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Prior:
        return cls(**{k: v for k, v in d.items() if k != "family"})


def prior_from_dict(d: Mapping[str, Any]) -> Prior:
    """Any prior from its :meth:`Prior.to_dict` form."""
    kind = d.get("family") if isinstance(d, Mapping) else None
    if kind not in KINDS:
        raise ValueError(f"unknown prior family {kind!r}; use one of {', '.join(sorted(KINDS))}")
    return KINDS[kind].from_dict(d)


def prior_from_json(text: str) -> Prior:
    return prior_from_dict(json.loads(text))


@dataclass(frozen=True)
class Normal(Prior):
    """Normal(mu, sigma) on the real line."""

    family: ClassVar[str] = "normal"
    pymc = ("Normal", {})
    mu: Any
    sigma: Any

    def logpdf(self, x):
        return -0.5 * ((x - self.mu) / self.sigma) ** 2 - np.log(self.sigma) - 0.5 * np.log(2 * np.pi)

    def rvs(self, rng, size=None):
        return rng.normal(self.mu, self.sigma, size)


@dataclass(frozen=True)
class LogNormal(Prior):
    """LogNormal: log(x) ~ Normal(mu, sigma)."""

    family: ClassVar[str] = "lognormal"
    pymc = ("LogNormal", {})
    mu: Any
    sigma: Any

    def logpdf(self, x):
        return Normal(self.mu, self.sigma).logpdf(np.log(x)) - np.log(x)

    def rvs(self, rng, size=None):
        return rng.lognormal(self.mu, self.sigma, size)


@dataclass(frozen=True)
class HalfNormal(Prior):
    """HalfNormal(sigma) on x > 0."""

    family: ClassVar[str] = "halfnormal"
    pymc = ("HalfNormal", {})
    sigma: Any

    def logpdf(self, x):
        return Normal(0.0, self.sigma).logpdf(x) + np.log(2.0)

    def rvs(self, rng, size=None):
        return np.abs(rng.normal(0.0, self.sigma, size))


@dataclass(frozen=True)
class Dirichlet(Prior):
    """Dirichlet(concentration) on the simplex of the last axis; a scalar concentration is shared by every
    component (1: uniform over the simplex; larger: closer to equal weights)."""

    family: ClassVar[str] = "dirichlet"
    pymc = ("Dirichlet", {"concentration": "a"})
    concentration: Any

    def of_size(self, k: int) -> Dirichlet:
        """The same prior with one concentration per component of a k-simplex."""
        return Dirichlet(np.broadcast_to(np.asarray(self.concentration, float), (k,)).copy())

    def logpdf(self, x):
        a = np.broadcast_to(np.asarray(self.concentration, float), np.shape(x)[-1:])
        norm = special.gammaln(a.sum()) - special.gammaln(a).sum()
        return norm + np.sum(special.xlogy(a - 1.0, x), axis=-1)

    def rvs(self, rng, size=None):
        return rng.dirichlet(np.asarray(self.concentration, float), size)
