"""Priors with roles: what a term *is* decides which prior a prior set gives it.

The clinical prior sets (skeptical, enthusiastic, pessimistic) are built on the minimal clinically important
hazard ratio of a **treatment**: they make sense for a treatment contrast, not for a prognostic factor (an
"enthusiastic" prior centred on AFP > 400 being protective is no one's belief). A plan therefore says what each
term is (``[roles]``, :func:`parse_roles`), and a prior set gives a term its log-HR prior by role — the same prior
in every model of the set, univariable or multivariable, survival model or summary-level re-analysis:

=====================  ======================  ==========================  =================================
set                    treatment contrast      prognostic / adjustment     prognostic with a hypothesised
                       (``treatment``)         term (neutral)              HR h (``direction``)
=====================  ======================  ==========================  =================================
vague                  Normal(0, 10)           Normal(0, 10)               Normal(0, 10)
weakly_informative     Normal(0, 1)            Normal(0, 1)                Normal(0, 1)
skeptical              Normal(0, s)            Normal(0, s_p): shrinkage   Normal(0, s_h)
enthusiastic           Normal(ln mcid, s)      Normal(0, s_p)              Normal(ln h, s_h)
pessimistic            Normal(−ln mcid, s)     Normal(0, s_p)              Normal(−ln h, s_h)
custom set             its ``contrast``        its ``other``               its ``other``
=====================  ======================  ==========================  =================================

s = −ln(mcid)/z95 (5% prior mass beyond the MCID, Spiegelhalter, Freedman & Parmar 1994); s_h = |ln h|/z95, the
same construction with the hypothesised HR in the MCID's place (skeptical: 5% prior mass beyond h; enthusiastic:
centred on h with 5% on the other side of 1; pessimistic: its mirror); s_p = ln(H)/z975 with H the plan's
``prognostic_hr95`` (default 3): a neutral shrinkage prior with 95% mass on HR 1/H–H, the same under the three
clinical sets, so that they differ only in what they believe about the treatment. Without ``[roles]`` the
treatment contrasts are the factors of the study's arm column and every other term is prognostic.

:func:`with_roles` turns a resolved prior set into a :class:`RolePriorSet`, whose ``for_terms`` applies the table
(the treatment terms read the set's ``contrast`` at call time, so a tipping-point search that moves the contrast
prior moves theirs); its JSON carries the roles, so a fit's hash changes with them.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hccbayes.errors import Problem
from hccbayes.models.priors.sets import PRIOR_SET_NAMES, PriorSet
from hccbayes.models.priors.values import Z_ONE_SIDED_95 as Z95
from hccbayes.models.priors.values import Z_TWO_SIDED_95 as Z975
from hccbayes.models.priors.values import Normal

CLINICAL = ("skeptical", "enthusiastic", "pessimistic")
DEFAULT_PROGNOSTIC_HR95 = 3.0
ROLE_KEYS = ("treatment", "direction", "prognostic_hr95")


@dataclass(frozen=True)
class TermRoles:
    """Which terms are treatment contrasts, which prognostic terms have a hypothesised HR, and the neutral
    shrinkage of the others (see the module docstring)."""

    treatment: tuple[str, ...] = ()
    direction: Mapping[str, float] = field(default_factory=dict)  # term -> hypothesised HR (≠ 1)
    prognostic_hr95: float = DEFAULT_PROGNOSTIC_HR95

    def __post_init__(self):
        object.__setattr__(self, "treatment", tuple(self.treatment))
        object.__setattr__(self, "direction", dict(sorted(dict(self.direction).items())))

    def role(self, term: str) -> str:
        if term in self.treatment:
            return "treatment"
        return "direction" if term in self.direction else "prognostic"

    @property
    def shrinkage_sigma(self) -> float:
        return math.log(self.prognostic_hr95) / Z975

    def to_dict(self) -> dict[str, Any]:
        return {"treatment": list(self.treatment), "direction": dict(self.direction),
                "prognostic_hr95": self.prognostic_hr95}


def default_roles(study) -> TermRoles:
    """Without a plan's ``[roles]``: the factors of the study's arm column are the treatment contrasts."""
    return TermRoles(tuple(sorted(n for n, f in study.factors.items() if f.column == study.arm_column)))


def set_kind(name: str) -> str:
    """The named set a prior set is (``skeptical_mcid0.8`` is skeptical), or "custom"."""
    base = name.split("_mcid", 1)[0]
    return base if base in PRIOR_SET_NAMES else "custom"


def _directional(kind: str, hr: float) -> Normal:
    s = abs(math.log(hr)) / Z95
    return Normal({"skeptical": 0.0, "enthusiastic": math.log(hr), "pessimistic": -math.log(hr)}[kind], s)


@dataclass(frozen=True)
class RolePriorSet(PriorSet):
    """A prior set whose log-HR priors follow the terms' roles (module docstring). ``kind`` is the named set it
    derives from; a tipping-point search's sets keep the kind of the set they start from."""

    roles: TermRoles = TermRoles()
    kind: str = "custom"

    def prior_of(self, term: str) -> Normal:
        role = self.roles.role(term)
        if role == "treatment":
            return self.contrast
        if self.kind not in CLINICAL:
            return self.other
        if role == "direction":
            return _directional(self.kind, self.roles.direction[term])
        return Normal(0.0, self.roles.shrinkage_sigma)

    def for_terms(self, terms: tuple[str, ...], primary: str | None = None) -> list[Normal]:
        """The log-HR prior of each term, by its role (``primary`` plays no part: a term's prior is its own)."""
        return [self.prior_of(t) for t in terms]

    def describe(self, term: str) -> str:
        """'Normal(0, 0.5605) (prognostic, shrinkage)': a term's prior and why, for rows and Methods."""
        p = self.prior_of(term)
        role = self.roles.role(term)
        why = {"treatment": "treatment contrast", "direction": f"hypothesised HR {self.roles.direction.get(term, 1):g}",
               "prognostic": "prognostic, shrinkage" if self.kind in CLINICAL else "prognostic"}[role]
        return f"Normal({p.mu:.4g}, {p.sigma:.4g}) ({why})"

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "roles": self.roles.to_dict(), "kind": self.kind}


def with_roles(priors: PriorSet, roles: TermRoles) -> RolePriorSet:
    """``priors`` with role-dependent log-HR priors (``kind`` from its name; a RolePriorSet gets new roles)."""
    kind = priors.kind if isinstance(priors, RolePriorSet) else set_kind(priors.name)
    base = {f: getattr(priors, f) for f in ("name", "description", "contrast", "other", "baseline", "mcid", "rates")}
    described = base["description"]
    if kind in CLINICAL:
        described += (f"; prognostic terms Normal(0, {roles.shrinkage_sigma:.4f}) (95% prior mass on HR "
                      f"1/{roles.prognostic_hr95:g}-{roles.prognostic_hr95:g})")
        if roles.direction:
            described += "; terms with a hypothesised HR h: the same construction with h in the MCID's place"
    if roles.treatment:
        described += f"; treatment contrasts: {', '.join(roles.treatment)}"
    return RolePriorSet(**{**base, "description": described}, roles=roles, kind=kind)


def parse_roles(table: Any, fname: str, terms: Iterable[str] | None = None) -> tuple[TermRoles | None, list[Problem]]:
    """A plan's ``[roles]`` table::

        [roles]
        treatment = ["treated"]             # treatment contrasts: the clinical sets with the MCID
        direction = { marker_high = 2.0 }   # prognostic terms with a hypothesised HR (and so a direction)
        prognostic_hr95 = 3.0               # neutral shrinkage of the other terms: 95% on HR 1/3-3

    ``terms``: the names a role may name (the study's factors and continuous columns); None: not checked here
    (a plan is checked against its study later)."""
    problems: list[Problem] = []

    def bad(key: str, message: str, fix: str) -> None:
        problems.append(Problem(fname, f"key 'roles.{key}': {message}", fix))

    if not isinstance(table, Mapping):
        return None, [Problem(fname, "key 'roles': must be a table", 'write [roles] with treatment = ["..."]')]
    known = set(terms) if terms is not None else None
    for key in table:
        if key not in ROLE_KEYS:
            bad(key, "unknown key", f"use {', '.join(ROLE_KEYS)}")
    treatment = table.get("treatment", [])
    if not isinstance(treatment, list) or not all(isinstance(t, str) for t in treatment):
        bad("treatment", f"{treatment!r} is not a list of terms", 'write treatment = ["treated"]')
        treatment = []
    direction = table.get("direction", {})
    if not isinstance(direction, Mapping):
        bad("direction", "must be a table of term = hypothesised HR", "write direction = { marker_high = 2.0 }")
        direction = {}
    for t, hr in direction.items():
        if isinstance(hr, bool) or not isinstance(hr, (int, float)) or not hr > 0 or hr == 1:
            bad(f"direction.{t}", f"{hr!r} is not a hazard ratio other than 1", "give the hypothesised HR, e.g. 2.0")
        if t in treatment:
            bad(f"direction.{t}", "is a treatment contrast", "a treatment's direction is the MCID's: delete it here")
    for t in (*treatment, *direction):
        if known is not None and t not in known:
            bad("treatment" if t in treatment else f"direction.{t}", f"{t!r} is not a term of the study",
                "name a factor of study.toml or a continuous column")
    h95 = table.get("prognostic_hr95", DEFAULT_PROGNOSTIC_HR95)
    if isinstance(h95, bool) or not isinstance(h95, (int, float)) or not h95 > 1:
        bad("prognostic_hr95", f"{h95!r} is not a hazard ratio above 1", "set prognostic_hr95 = 3.0")
        h95 = DEFAULT_PROGNOSTIC_HR95
    if problems:
        return None, problems
    return TermRoles(tuple(treatment), {t: float(v) for t, v in direction.items()}, float(h95)), []
