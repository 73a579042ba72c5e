"""A stored fit's prior set read back, and the same set with one term's log-HR prior replaced.

A fit stores its prior set as JSON (``attrs["priors"]``); the run engine's sets carry the terms' roles
(:mod:`hccbayes.models.priors.roles`), a fit made directly with a plain :class:`PriorSet` does not.
:func:`stored_prior_set` reads either back as a :class:`RolePriorSet` that gives every term the prior it had
in the fit: the plain set's rule (the primary term gets ``contrast``, every other term ``other``) is the role
rule with the primary term as the one treatment and no clinical kind.

:func:`with_term_prior` replaces one term's log-HR prior and leaves every other term's as it was — what prior
exploration varies (a set's ``contrast`` would move every treatment term at once, its ``other`` every
prognostic term). Its JSON names the override, so a fit under it hashes apart from the stored one.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from hccbayes.models.priors.roles import RolePriorSet, TermRoles
from hccbayes.models.priors.sets import PriorSet
from hccbayes.models.priors.values import Normal, prior_from_dict


@dataclass(frozen=True)
class TermPriorSet(RolePriorSet):
    """A role-aware prior set with some terms' log-HR priors replaced (``overrides``: term -> prior)."""

    overrides: Mapping[str, Normal] = field(default_factory=dict)

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "overrides", dict(sorted(dict(self.overrides).items())))

    def prior_of(self, term: str) -> Normal:
        return self.overrides.get(term) or super().prior_of(term)

    def describe(self, term: str) -> str:
        if term in self.overrides:
            p = self.overrides[term]
            return f"Normal({p.mu:.4g}, {p.sigma:.4g}) (explored)"
        return super().describe(term)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "overrides": {t: p.to_dict() for t, p in self.overrides.items()}}


def stored_prior_set(priors_json: str, primary: str | None) -> RolePriorSet:
    """The prior set of a fit from its ``attrs["priors"]`` JSON (see the module docstring); ``primary``: the
    fit's contrast term (the spec's), which a set without roles gave its ``contrast`` prior."""
    d = json.loads(priors_json)
    base = PriorSet.from_dict(d)
    values = {f.name: getattr(base, f.name) for f in fields(PriorSet)}
    if "roles" in d:
        r = d["roles"]
        roles = TermRoles(tuple(r.get("treatment", ())), {k: float(v) for k, v in r.get("direction", {}).items()},
                          float(r.get("prognostic_hr95", TermRoles().prognostic_hr95)))
        kind = d.get("kind", "custom")
    else:
        roles, kind = TermRoles((primary,) if primary else ()), "custom"
    overrides = {t: prior_from_dict(p) for t, p in d.get("overrides", {}).items()}
    return TermPriorSet(**values, roles=roles, kind=kind, overrides=overrides)


def with_term_prior(priors: RolePriorSet, term: str, prior: Normal, name: str | None = None) -> TermPriorSet:
    """``priors`` with term ``term``'s log-HR prior replaced by ``prior``; named ``name`` (default: the set's
    name with the term's prior, e.g. ``weakly_informative[treated~Normal(-0.2, 0.3)]``)."""
    values = {f.name: getattr(priors, f.name) for f in fields(RolePriorSet)}
    overrides = {**dict(getattr(priors, "overrides", {})), term: prior}
    label = name or f"{priors.name}[{term}~Normal({prior.mu:g}, {prior.sigma:g})]"
    return TermPriorSet(**{**values, "name": label,
                           "description": f"{priors.description}; {term}: log-HR ~ Normal({prior.mu:g}, "
                           f"{prior.sigma:g}) (explored)"}, overrides=overrides)
