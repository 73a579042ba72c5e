"""The named prior sets: one value per set for every model of the package.

A :class:`PriorSet` holds, under one name,

* the **log hazard-ratio priors** — of the primary contrast and of the other terms — that the survival
  models and the summary-level re-analysis of published HRs use (these are what a sensitivity analysis
  varies);
* the **response-rate rule** (:class:`~hccbayes.models.priors.rates.RateRule`) that gives each group of a
  response or adverse-event comparison its Beta prior;
* **baseline overrides**: the survival families own their baseline priors (documented in each family's
  module) and read any override of them from here by name (a plan's custom set may override them).

Named sets (``mcid`` is the minimal clinically important hazard ratio, default 0.7; z = 1.6449 is
:data:`~hccbayes.models.priors.values.Z_ONE_SIDED_95`):

=====================  ==============================================  ===============================
set                    log-HR prior of the primary contrast            response-rate priors per group
                       (other terms in brackets)
=====================  ==============================================  ===============================
vague                  Normal(0, 10) — flat over any plausible HR      Jeffreys Beta(1/2, 1/2)
                       (all terms)
weakly_informative     Normal(0, 1): 95% prior mass on HR 0.14–7.1     uniform Beta(1, 1)
                       (all terms). The default.
skeptical              Normal(0, s), s = −ln(mcid)/z: centred on HR 1  a belief about the log odds
                       with P(HR < mcid) = 0.05 (others weakly inf.)   ratio, calibrated like the HR
enthusiastic           Normal(ln mcid, s): P(HR > 1) = 0.05            (:mod:`hccbayes.models.response.
pessimistic            Normal(−ln mcid, s): P(HR < 1) = 0.05           logistic`), nothing from the data
=====================  ==============================================  ===============================

The skeptical set follows Spiegelhalter, Freedman & Parmar (1994): its log-HR prior puts 5% on an effect at
least as large as the MCID (σ = 0.2168 for mcid = 0.7). What a clinical set gives a term that is not a
treatment contrast is decided by the term's role (:mod:`hccbayes.models.priors.roles`). For responses
"higher" is good (ORR, DCR) and bad for adverse events; the set names follow the response reading.

A plan may declare its own prior sets beside the five named ones::

    [prior_sets.trial_informed]
    description = "log-HR prior from a previous trial"      # optional
    contrast = { family = "normal", mu = -0.2, sigma = 0.3 }  # log-HR prior of the primary contrast
    other = { family = "normal", mu = 0.0, sigma = 1.0 }      # optional; default Normal(0, 1)
    baseline = { intercept_sigma = 2.0 }                      # optional baseline prior overrides

:func:`custom_prior_sets` parses that table (every problem at once, as a PlanError) and
:func:`resolve_prior_set` is the one lookup — custom set, else named set at the analysis's MCID. With
several MCIDs the MCID-dependent sets (skeptical, enthusiastic, pessimistic) are expanded to
``<set>_mcid<value>`` (:func:`expand_prior_sets`). A custom set is a set of log-HR priors for survival
analyses (its response rule is the uniform one; plans name custom sets only in survival analyses).
"""
from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from hccbayes.errors import PlanError, Problem
from hccbayes.models.priors.rates import RateRule, jeffreys, uniform
from hccbayes.models.priors.values import Z_ONE_SIDED_95, Normal, Prior, prior_from_dict

DEFAULT_MCID = 0.7
PRIOR_SET_NAMES = ("vague", "weakly_informative", "skeptical", "enthusiastic", "pessimistic")
WEAK = Normal(0.0, 1.0)
UNIFORM_RATES = RateRule("fixed", "uniform Beta(1,1) for every group", uniform())


@dataclass(frozen=True)
class PriorSet:
    """A named prior set (see the module docstring)."""

    name: str
    description: str
    contrast: Normal
    other: Normal
    baseline: Mapping[str, Any] = field(default_factory=dict)  # survival baseline overrides, by name
    mcid: float | None = None
    rates: RateRule = UNIFORM_RATES

    def __post_init__(self):
        object.__setattr__(self, "baseline", dict(sorted(dict(self.baseline).items())))

    def for_terms(self, terms: tuple[str, ...], primary: str | None) -> list[Normal]:
        """The log-HR prior of each term; ``primary`` is the term that carries the contrast prior."""
        return [self.contrast if t == primary else self.other for t in terms]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "contrast": self.contrast.to_dict(),
                "other": self.other.to_dict(), "mcid": self.mcid, "rates": self.rates.to_dict(),
                "baseline": {k: v.to_dict() if isinstance(v, Prior) else v for k, v in self.baseline.items()}}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PriorSet:
        baseline = {k: prior_from_dict(v) if isinstance(v, Mapping) else v for k, v in d.get("baseline", {}).items()}
        rates = RateRule.from_dict(d["rates"]) if "rates" in d else UNIFORM_RATES
        return cls(name=d["name"], description=d["description"], contrast=prior_from_dict(d["contrast"]),
                   other=prior_from_dict(d["other"]), baseline=baseline, mcid=d.get("mcid"), rates=rates)

    @classmethod
    def from_json(cls, text: str) -> PriorSet:
        return cls.from_dict(json.loads(text))


def skeptical_sigma(mcid: float) -> float:
    """σ of a Normal(0, σ) log-HR prior with P(HR < mcid) = 0.05: −ln(mcid) / z_0.95."""
    if not 0 < mcid < 1:
        raise ValueError(f"the MCID is a hazard ratio below 1, got {mcid}")
    return -math.log(mcid) / Z_ONE_SIDED_95


def _log_odds_rates(text: str) -> RateRule:
    return RateRule("log_odds", f"a treatment contrast's log odds ratio {text}, any other comparison's the neutral "
                    "shrinkage (hccbayes.models.response.logistic)")


def prior_set(name: str, mcid: float = DEFAULT_MCID) -> PriorSet:
    """One of the five named prior sets (see the module docstring for their definitions)."""
    s = skeptical_sigma(mcid)
    lm = math.log(mcid)
    odds = 1 / mcid
    if name == "vague":
        return PriorSet(name, "vague: every log-HR ~ Normal(0, 10), essentially flat over plausible HRs",
                        Normal(0.0, 10.0), Normal(0.0, 10.0),
                        rates=RateRule("fixed", "Jeffreys Beta(1/2,1/2) for every group", jeffreys()))
    if name == "weakly_informative":
        return PriorSet(name, "weakly informative: every log-HR ~ Normal(0, 1), 95% prior mass on HR "
                        "0.14-7.1", WEAK, WEAK)
    if name == "skeptical":
        return PriorSet(name, f"skeptical: contrast log-HR ~ Normal(0, {s:.4f}), centred on HR 1 with 5% "
                        f"prior probability of HR < {mcid:g}; other terms Normal(0, 1)", Normal(0.0, s), WEAK,
                        mcid=mcid, rates=_log_odds_rates(f"centred on 0 with 5% prior mass beyond ln {odds:.3g}"))
    if name == "enthusiastic":
        return PriorSet(name, f"enthusiastic: contrast log-HR ~ Normal(ln {mcid:g}, {s:.4f}), centred on "
                        f"HR {mcid:g} with 5% prior probability of HR > 1; other terms Normal(0, 1)",
                        Normal(lm, s), WEAK, mcid=mcid,
                        rates=_log_odds_rates(f"centred on ln {odds:.3g}"))
    if name == "pessimistic":
        return PriorSet(name, f"pessimistic: contrast log-HR ~ Normal(-ln {mcid:g}, {s:.4f}), centred on "
                        f"HR {1 / mcid:.3g} with 5% prior probability of HR < 1; other terms Normal(0, 1)",
                        Normal(-lm, s), WEAK, mcid=mcid,
                        rates=_log_odds_rates(f"centred on -ln {odds:.3g}"))
    raise KeyError(f"unknown prior set {name!r}; use one of {', '.join(PRIOR_SET_NAMES)}")


def named_prior_sets(mcid: float = DEFAULT_MCID) -> dict[str, PriorSet]:
    """The five named sets at ``mcid``, by name."""
    return {name: prior_set(name, mcid) for name in PRIOR_SET_NAMES}


def external_prior_set(external: Mapping[str, tuple[float, float]], weight: float = 0.5,
                       name: str = "robust_external") -> PriorSet:
    """Robust mixture response priors from external data per group: w · Beta(1 + x, 1 + n − x) + (1 − w) ·
    Beta(1, 1); groups without external data get Beta(1, 1). Its log-HR priors are the weakly informative ones."""
    rule = RateRule("external", f"robust mixture of external data (w={weight:g}) and Beta(1,1)", uniform(),
                    external=dict(external), weight=weight)
    return PriorSet(name, f"{name}: {rule.description}; every log-HR ~ Normal(0, 1)", WEAK, WEAK, rates=rule)


MCID_SETS = ("skeptical", "enthusiastic", "pessimistic")  # the named sets whose contrast prior uses the MCID
EFFECT_KEYS = ("contrast", "other")


def custom_prior_sets(table: Mapping[str, Any], fname: str = "<plan>") -> dict[str, PriorSet]:
    """Parse a plan's ``[prior_sets.<name>]`` tables into PriorSets (see the module docstring)."""
    problems: list[Problem] = []
    out: dict[str, PriorSet] = {}

    def bad(key: str, message: str, fix: str) -> None:
        problems.append(Problem(fname, f"key 'prior_sets.{key}': {message}", fix))

    if not isinstance(table, Mapping):
        raise PlanError(Problem(fname, "key 'prior_sets': must be a table of tables",
                                "write [prior_sets.my_set] with contrast = { family = \"normal\", ... }"))
    for name, body in table.items():
        if name in PRIOR_SET_NAMES:
            bad(name, "redefines a named prior set", "give the custom set another name")
            continue
        if not isinstance(body, Mapping) or "contrast" not in body:
            bad(name, "needs a contrast prior", 'write contrast = { family = "normal", mu = 0.0, sigma = 0.5 }')
            continue
        unknown = sorted(set(body) - {"description", "baseline", "mcid", *EFFECT_KEYS})
        if unknown:
            bad(f"{name}.{unknown[0]}", "unknown key", "use contrast, other, baseline, description, mcid")
            continue
        effects = {k: dict(body.get(k, {"family": "normal", "mu": 0.0, "sigma": 1.0})) for k in EFFECT_KEYS}
        for k, prior in effects.items():
            sigma = prior.get("sigma")
            if prior.get("family") != "normal" or set(prior) != {"family", "mu", "sigma"}:
                bad(f"{name}.{k}", "log-HR priors are normal: {family, mu, sigma}",
                    f'write {k} = {{ family = "normal", mu = 0.0, sigma = 1.0 }}')
            elif not isinstance(sigma, (int, float)) or isinstance(sigma, bool) or not sigma > 0:
                bad(f"{name}.{k}.sigma", f"{sigma!r} is not a positive number", "set sigma > 0")
            else:
                prior.update(mu=float(prior["mu"]), sigma=float(sigma))
        if len(problems):
            continue
        spec = {"name": name, "description": str(body.get("description", f"{name}: custom prior set")),
                **effects, "baseline": dict(body.get("baseline", {})), "mcid": body.get("mcid")}
        try:
            out[name] = PriorSet.from_dict(spec)
        except (TypeError, ValueError) as err:
            bad(name, f"cannot be read ({err})", "see the prior_sets format in hccbayes.models.priors.sets")
    if problems:
        raise PlanError(problems, summary=f"{len(problems)} problem(s) in the prior sets of {fname}")
    return out


def resolve_prior_set(name: str, mcid: float = DEFAULT_MCID,
                      custom: Mapping[str, PriorSet] | None = None) -> PriorSet:
    """The prior set called ``name``: a custom set of the plan, else a named set at ``mcid``."""
    if custom and name in custom:
        return custom[name]
    return prior_set(name, mcid=mcid)


def expand_prior_sets(names: Iterable[str], mcids: Sequence[float] = (DEFAULT_MCID,),
                      custom: Mapping[str, PriorSet] | None = None) -> list[tuple[str, PriorSet]]:
    """(label, PriorSet) of the grid: MCID-dependent named sets once per MCID when there are several."""
    out = []
    for name in names:
        if name in MCID_SETS and len(mcids) > 1 and not (custom and name in custom):
            out.extend((f"{name}_mcid{m:g}", replace(prior_set(name, m), name=f"{name}_mcid{m:g}")) for m in mcids)
        else:
            out.append((name, resolve_prior_set(name, mcids[0], custom)))
    return out
