"""Checks of a parsed plan against the study it names (split from :mod:`hccbayes.inference.engine.plan`'s parsing).

Every check returns :class:`~hccbayes.errors.Problem` values naming the plan key and the fix; the
caller raises them together as one :class:`~hccbayes.errors.PlanError`.
"""
from __future__ import annotations

from hccbayes.data.published.registry import study_registry
from hccbayes.data.study import load_study
from hccbayes.errors import HccbayesError, Problem
from hccbayes.models.priors.roles import default_roles
from hccbayes.models.priors.sets import PRIOR_SET_NAMES
from hccbayes.models.survival.families import BASELINES, MODELS, SETTINGS
from hccbayes.models.survival.landmark import post_baseline_terms
from hccbayes.models.survival.population import MISSING_RULES

SELECTION_RULES = ("published", "univariable_p")  # where a multivariable model's terms come from
LINKS = ("cox_hr", "km_median")  # frequentist rows a survival analysis may link to published figures


def _study_columns(study) -> set[str]:
    return {c.name for c in study.columns} | ({study.arm_column, study.regimen_column} - {None})


def check_plan(plan, fname: str) -> list[Problem]:
    """Problems of ``plan`` given its study (a study that cannot be loaded is one problem)."""
    out: list[Problem] = []

    def bad(key: str, message: str, fix: str) -> None:
        out.append(Problem(fname, f"key '{key}': {message}", fix))

    try:
        study = load_study(plan.study)
    except HccbayesError as err:
        return [Problem(fname, f"key 'plan.study': {plan.study!r} cannot be loaded ({err})",
                        "name a bundled study or a folder holding study.toml, relative to the plan file")]
    custom = tuple(plan.custom_prior_sets)
    known = PRIOR_SET_NAMES + custom
    for name, ps in plan.custom_prior_sets.items():
        for key in sorted(set(ps.baseline) - set(SETTINGS)):
            bad(f"prior_sets.{name}.baseline.{key}", "not a baseline prior setting of any survival model",
                f"use one of {', '.join(SETTINGS)}")
    if plan.quick_prior_set not in known:
        bad("defaults.quick_prior_set", f"unknown prior set {plan.quick_prior_set!r}",
            f"use one of {', '.join(known)}")
    endpoints = [e.name for e in study.endpoints]
    columns = _study_columns(study)
    roles = plan.roles or default_roles(study)
    registry = None  # loaded when a response or summary analysis needs it
    for t in (*roles.treatment, *roles.direction):
        if t not in study.factors and t not in columns:
            bad("roles", f"{t!r} is not a factor or column of study {study.name}", "name a factor of study.toml")
    for a in plan.analyses:
        w = f"analyses.{a.id}"
        for ps in a.prior_sets:
            if ps in custom and a.kind != "survival":
                bad(f"{w}.prior_sets", f"custom prior set {ps!r} is a log-HR prior set for survival models",
                    f"use the named sets ({', '.join(PRIOR_SET_NAMES)}) for {a.kind} analyses")
            elif ps not in known:
                bad(f"{w}.prior_sets", f"unknown prior set {ps!r}", f"use names from {', '.join(known)} (custom "
                    "sets are declared as [prior_sets.<name>] tables)")
        if not a.prior_sets:
            bad(f"{w}.prior_sets", "no prior set", 'set prior_sets = ["weakly_informative"]')
        if a.kind == "survival":
            _check_survival(a, w, study, endpoints, columns, MODELS, BASELINES, LINKS, bad)
            if a.tipping_points and roles.role(a.contrast_term or "") != "treatment":
                bad(f"{w}.tipping_points", f"the contrast {a.contrast_term!r} is not a treatment contrast: its prior "
                    "does not move with the prior centre or the MCID", "add it to [roles] treatment, or delete "
                    "tipping_points")
        elif a.kind in ("response", "summary"):
            if registry is None:
                try:
                    registry = study_registry(study)
                except HccbayesError as err:
                    return out + [Problem(fname, f"key 'plan.study': the published figures of study {study.name} "
                                                 f"cannot be loaded ({err})", "fix its published.toml")]
            _check_published(a, w, registry, study.name, bad)
        if not 0 < a.mcid < 1:
            bad(f"{w}.mcid", f"{a.mcid} is not a hazard ratio in (0, 1)", "set mcid = 0.7")
    return out


def _check_published(a, w, registry, study_name: str, bad) -> None:
    """A response analysis's comparisons are declared in published.toml; a summary analysis's tables hold
    published Cox HRs."""
    if a.kind == "response":
        declared = list(registry.comparisons)
        if not declared:
            bad(f"{w}.comparisons", f"study {study_name} declares no comparisons of proportions",
                "declare them as [comparisons.<name>] tables in its published.toml, or delete this analysis")
        for c in a.comparisons:
            if c not in declared:
                bad(f"{w}.comparisons", f"unknown comparison {c!r}",
                    f"use names from {', '.join(declared) or '[comparisons] of published.toml'}")
        return
    tables = list(dict.fromkeys(e.table for e in registry.find(kind="hr_ci", measure="cox_hr")))
    if not tables:
        bad(f"{w}.tables", f"study {study_name} publishes no Cox hazard ratio", "delete this summary analysis")
    for t in a.tables:
        if t not in tables:
            bad(f"{w}.tables", f"table {t!r} holds no published Cox HR", f"use names from {', '.join(tables)}")


def _check_survival(a, w, study, endpoints, columns, models, baselines, links, bad) -> None:
    if a.endpoint not in endpoints:
        bad(f"{w}.endpoint", f"{a.endpoint!r} is not an endpoint of study {study.name}",
            f"use one of {', '.join(endpoints)}")
    if not a.models or any(m not in models for m in a.models):
        bad(f"{w}.models", f"{list(a.models)} names an unknown model", f"use models from {', '.join(models)}")
    if any(m not in models for m in a.loo_models):
        bad(f"{w}.loo_models", f"{list(a.loo_models)} names an unknown model",
            f"use models from {', '.join(models)}")
    if a.selection or a.candidates:
        _check_selection(a, w, bad)
    elif not a.terms:
        bad(f"{w}.terms", "no terms", 'list at least one study factor, e.g. terms = ["treated"]')
    for t in (*a.terms, *a.candidates):
        if t not in study.factors and not (t in a.continuous and t in columns):
            bad(f"{w}.terms", f"{t!r} is neither a factor of study {study.name} nor a continuous column "
                "listed in `continuous`", f"use factors such as {', '.join(list(study.factors)[:6])}, ...")
    for t in a.continuous:
        if t not in a.terms:
            bad(f"{w}.continuous", f"{t!r} is not among the terms", "list continuous columns in terms too")
    if a.primary is not None and a.primary not in a.terms and a.selection != "univariable_p":
        bad(f"{w}.primary", f"{a.primary!r} is not among the terms", "name one of the terms as primary")
    for col in a.population:
        if col not in columns:
            bad(f"{w}.population", f"unknown column {col!r}", f"filter on study columns ({', '.join(sorted(columns))})")
    for link in a.link:
        if link not in links:
            bad(f"{w}.link", f"unknown published measure {link!r}", f"use names from {', '.join(links)}")
    if a.strata is not None:
        if a.strata not in columns:
            bad(f"{w}.strata", f"unknown column {a.strata!r}", "name a categorical study column, e.g. strata = \"arm\"")
        elif not a.regimen_effects:
            factor = study.factors.get(a.contrast_term or "")
            if factor is None or factor.column != a.strata:
                bad(f"{w}.strata", f"the primary term {a.contrast_term!r} is not a factor of column {a.strata!r}",
                    "make the primary term the level indicator of the strata column (e.g. treated for arm)")
    if a.regimen_effects and study.regimen_column is None:
        bad(f"{w}.regimen_effects", f"study {study.name} declares no regimen_column",
            "delete regimen_effects, or declare the regimens in study.toml")
    elif a.regimen_effects:
        arm_factor = study.factors.get(a.contrast_term or "")
        if arm_factor is None or arm_factor.column != study.arm_column:
            bad(f"{w}.primary", "regimen effects need the arm indicator as the primary term",
                f"set primary to the factor of column {study.arm_column!r} (e.g. treated)")
        if a.strata not in (None, study.regimen_column):
            bad(f"{w}.strata", "with regimen_effects the strata are the regimens",
                f'set strata = "{study.regimen_column}"')
    if a.baseline not in baselines:
        bad(f"{w}.baseline", f"unknown baseline {a.baseline!r}", f"use one of {', '.join(baselines)}")
    if a.horizon is not None and not a.horizon > 0:
        bad(f"{w}.horizon", f"must be > 0 ({study.time_unit})", "set horizon = a time in the study's unit, or "
            "leave it out (default: the follow-up of the compared groups)")
    if a.missing is not None and a.missing not in MISSING_RULES:
        bad(f"{w}.missing", f"unknown rule {a.missing!r}", f"use one of {', '.join(MISSING_RULES)}")
    for t in a.per_unit:
        if t not in a.continuous:
            bad(f"{w}.per_unit", f"{t!r} is not listed in `continuous`", "per_unit names continuous terms")
    if (a.contrasts or a.landmarks) and a.strata is None:
        bad(f"{w}.{'contrasts' if a.contrasts else 'landmarks'}", "needs strata (the groups compared)",
            'set strata = "<column>", e.g. strata = "arm"')
    if a.from_landmark is not None:
        _check_landmark(a, w, study, bad)


def _check_selection(a, w, bad) -> None:
    """``selection`` is published (the terms are the paper's list; candidates optional, to show the rule's pick
    beside it) or univariable_p (the candidates are screened on the data; no terms)."""
    if a.selection not in SELECTION_RULES:
        bad(f"{w}.selection", f"{a.selection!r} is not a selection rule", f"use one of {', '.join(SELECTION_RULES)}")
    elif a.selection == "published" and not a.terms:
        bad(f"{w}.terms", "selection = \"published\" needs the published term list", "list the terms as printed")
    elif a.selection == "univariable_p" and (a.terms and a.terms != ((a.primary,) if a.primary else ())
                                             or not a.candidates):
        bad(f"{w}.terms", "selection = \"univariable_p\" picks the terms from the candidates on the data",
            "give candidates = [...] (and primary, which is always kept) instead of terms")
    if not 0 < a.selection_p < 1:
        bad(f"{w}.selection_p", f"{a.selection_p} is not a p-value threshold in (0, 1)", "set selection_p = 0.1")


def _check_landmark(a, w, study, bad) -> None:
    """A landmark is a positive time no earlier than the measurement of any post-baseline term, and a landmark
    analysis reproduces no published figure (the paper's are from time zero)."""
    if not a.from_landmark > 0:
        bad(f"{w}.from_landmark", f"{a.from_landmark!r} is not a positive time", f"give the landmark in {study.time_unit}")
        return
    for term, at in post_baseline_terms(study, a.terms).items():
        if a.from_landmark < at:
            bad(f"{w}.from_landmark", f"{a.from_landmark:g} is before {term!r} is measured ({at:g} {study.time_unit})",
                f"set from_landmark = {at:g} or later")
    if a.link:
        bad(f"{w}.link", "a landmark analysis has no published counterpart (published figures count from time "
            "zero)", "delete link; the naive analysis of the same terms links the published figures")
