"""Prior sets as plan data: a plan's own ``[prior_sets.<name>]`` tables, the one lookup of a set by name,
and the expansion of a grid over several MCIDs.

A plan may declare its own prior sets beside the five named ones (:mod:`hccbayes.models.priors.survival`)::

    [prior_sets.trial_informed]
    description = "log-HR prior from a previous trial"      # optional
    contrast = { family = "normal", mu = -0.2, sigma = 0.3 }  # log-HR prior of the primary contrast
    other = { family = "normal", mu = 0.0, sigma = 1.0 }      # optional; default Normal(0, 1)
    baseline = { intercept_sigma = 2.0 }                      # optional BaselinePriors overrides

:func:`custom_prior_sets` parses that table (every problem at once, as a PlanError) and
:func:`resolve_prior_set` is the one lookup — custom set, else named set at the analysis's MCID. With
several MCIDs the MCID-dependent sets (skeptical, enthusiastic, pessimistic) are expanded to
``<set>_mcid<value>`` (:func:`expand_prior_sets`).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Iterable, Mapping, Sequence

from hccbayes.errors import PlanError, Problem
from hccbayes.models.priors.survival import DEFAULT_MCID, PRIOR_SET_NAMES, PriorSet, prior_set

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
