"""Analysis plans: TOML files that say which comparisons a run makes, read into immutable values.

A plan is data and never code: it is read with :mod:`tomllib`, every key is checked against the
study it names, and nothing in it is evaluated (a population filter is a column = value mapping,
not an expression). Every problem is reported at once as a :class:`~hccbayes.errors.PlanError` whose
lines name the file, the key and the fix.

Layout (the bundled studies' plan.toml files are full examples)::

    [plan]
    name = "my_study"
    study = "."                 # bundled study name, or a study folder relative to this file
    cohort = "cohort.csv"       # optional; relative to this file (default: the study's cohort)
    seed = 20250212

    [defaults]                  # every analysis inherits these unless it sets them itself
    prior_sets = ["vague", "weakly_informative", "skeptical", "enthusiastic", "pessimistic"]
    quick_prior_set = "weakly_informative"   # the only prior set of a --quick run
    models = ["pem"]
    loo_models = ["weibull", "pem"]          # also fitted (default prior set only) so LOO compares them
    horizon = 24.0              # RMST horizon, in the study's time unit (default: the smallest last follow-up
                                # of the compared groups; beyond it an error, unless extrapolate = true)
    missing = "complete_case"   # missing covariate values: complete_case | impute (default: refused)
    mcid = 0.7                  # clinically important HR of the skeptical/enthusiastic sets
    thresholds = { hr = [1.0, 0.7], median_diff = [0.0], rmst_diff = [0.0], rate_diff = [0.0] }
    sampler = { draws = 1000, tune = 1000, chains = 4, target_accept = 0.9 }
    quick_sampler = { draws = 500, tune = 500, chains = 2 }

    [[analyses]]
    id = "arm_pfs"
    kind = "survival"           # survival | response | summary
    endpoint = "pfs"
    models = ["weibull", "pem"]
    terms = ["treated"]         # study factors (0/1) or, listed in `continuous`, numeric columns
    strata = "arm"              # KM medians / log-rank per level; Bayesian medians per level of `primary`
    link = ["cox_hr", "km_median"]          # published measures this analysis reproduces
    tipping_points = true       # prior at which P(HR < 1) crosses 0.95 and 0.5 (first model)
    population = { arm = "B" }              # optional filter: column = value
    n_intervals = 10            # PEM intervals (default: about 4 events each, 6 to 20); or cuts = [3, 6, 12]
    baseline = "rw"             # PEM baseline: independent (default) | rw (random walk on the log hazard)
    continuous = ["age"]        # numeric columns among the terms, entered per SD of the population ...
    per_unit = ["age"]          # ... or per unit of their column
    landmarks = [12.0, 24.0]    # S(t) per group and its difference at these times (with strata); not from_landmark
    extrapolate = false         # true: an RMST horizon beyond the follow-up is allowed, and flagged
    contrasts = [["Lev+5FU", "Lev"]]        # with 3+ groups: pairs compared besides each vs the reference
    from_landmark = 1.84        # start the clock here: patients event-free at 1.84, time from then on; for
                                # covariates measured after time zero (study.toml measured_at), no earlier
    selection = "published"     # a multivariable model's terms: "published" (the paper's list, as given in
    candidates = ["treated", ...]  # terms) or "univariable_p" (the candidates with univariable Cox p <
    selection_p = 0.1           # selection_p on the cohort, plus the primary); with candidates, a published
                                # list is shown beside the one the rule picks (inference/engine/selection.py)

Custom prior sets are data too: ``[prior_sets.<name>]`` tables (format and parser:
:func:`hccbayes.models.priors.sets.custom_prior_sets`) that analyses then name in ``prior_sets``
like the five named sets. ``[roles]`` says which terms are treatment contrasts (the clinical prior sets
apply to them), which prognostic terms have a hypothesised HR, and how strongly the clinical sets shrink the
other terms (format and meaning: :mod:`hccbayes.models.priors.roles`); without it the factors of the study's
arm column are the treatment contrasts.

``each_term = true`` expands one survival entry into one univariable analysis per term, with ids
``<id>_<term>``. Response analyses name the ``comparisons`` they take from the study's published.toml
(its ``[comparisons.<name>]`` tables: :mod:`hccbayes.data.published.comparisons`; default: every one);
summary analyses the registry ``tables`` whose published hazard ratios they re-analyse (default: every
table holding one, the Results text included).
"""
from __future__ import annotations

import json
import tomllib
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

from hccbayes.errors import PlanError, Problem
from hccbayes.inference.engine.plan_check import check_plan
from hccbayes.inference.engine.plan_values import (
    response_priors,
    sampler_settings,
    strings,
    survival_extras,
    table_of,
    thresholds_of,
    unknown_keys,
)
from hccbayes.models.priors.roles import TermRoles, parse_roles
from hccbayes.models.priors.sets import custom_prior_sets

KINDS = ("survival", "response", "summary")
QUICK_SAMPLER = {"draws": 500, "tune": 500, "chains": 2}
PLAN_KEYS = ("name", "study", "cohort", "seed", "description")
DEFAULT_KEYS = ("prior_sets", "quick_prior_set", "models", "loo_models", "horizon", "mcid", "thresholds",
                "sampler", "quick_sampler", "missing", "landmarks", "extrapolate")
INHERITED = ("prior_sets", "models", "loo_models", "horizon", "mcid", "missing", "landmarks", "extrapolate")
COMMON_KEYS = ("id", "kind", "title", "prior_sets", "thresholds", "seed")
KIND_KEYS = {
    "survival": ("endpoint", "models", "terms", "primary", "continuous", "strata", "population", "link",
                 "regimen_effects", "each_term", "horizon", "sampler", "n_intervals", "cuts", "baseline",
                 "loo_models", "tipping_points", "mcid", "missing", "per_unit", "landmarks", "extrapolate",
                 "contrasts", "from_landmark", "selection", "candidates", "selection_p"),
    "response": ("comparisons", "mcid", "historical", "historical_weight"),
    "summary": ("tables", "mcid"),
}


@dataclass(frozen=True)
class Analysis:
    """One analysis of a plan (after defaults are applied and ``each_term`` is expanded)."""

    id: str
    kind: str
    title: str = ""
    prior_sets: tuple[str, ...] = ()
    thresholds: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    seed: int | None = None
    # survival
    endpoint: str = ""
    models: tuple[str, ...] = ("pem",)
    loo_models: tuple[str, ...] = ()  # also fitted, under the default prior set only, for LOO
    tipping_points: bool = False  # tipping points of P(HR < 1) for the contrast (first model)
    terms: tuple[str, ...] = ()
    primary: str | None = None
    continuous: tuple[str, ...] = ()
    strata: str | None = None
    population: Mapping[str, str] = field(default_factory=dict)
    link: tuple[str, ...] = ()
    regimen_effects: bool = False
    horizon: float | None = None  # None: from the follow-up (engine/horizon.py)
    extrapolate: bool = False
    landmarks: tuple[float, ...] = ()
    missing: str | None = None
    per_unit: tuple[str, ...] = ()
    contrasts: tuple[tuple[str, str], ...] = ()
    sampler: Mapping[str, Any] = field(default_factory=dict)
    n_intervals: int | None = None  # None: the model's automatic choice (about 4 events per interval)
    cuts: tuple[float, ...] | None = None
    baseline: str = "independent"
    from_landmark: float | None = None  # landmark analysis from this time (models/survival/landmark.py)
    selection: str = ""  # "" | published | univariable_p: where a multivariable model's terms come from
    candidates: tuple[str, ...] = ()
    selection_p: float = 0.1
    selection_note: str = ""  # set by the run (selection.py): the published and the data-selected lists
    # response / summary
    comparisons: tuple[str, ...] = ()
    tables: tuple[str, ...] = ()
    mcid: float = 0.7
    historical: Mapping[str, tuple[float, float]] = field(default_factory=dict)  # outcome -> (x, n) of the reference
    historical_weight: float = 0.5  # weight of the historical component of the robust mixture (logistic.py)

    @property
    def population_label(self) -> str:
        """``all`` or ``column:value`` (joined by ``&``), the registry's population naming."""
        return "&".join(f"{k}:{v}" for k, v in self.population.items()) or "all"

    @property
    def contrast_term(self) -> str | None:
        return self.primary or (self.terms[0] if self.terms else None)


@dataclass(frozen=True)
class Plan:
    name: str
    path: Path | None
    study: str  # bundled study name or an absolute study folder
    cohort: Path | None
    seed: int
    analyses: tuple[Analysis, ...]
    quick_prior_set: str
    quick_sampler: Mapping[str, Any]
    description: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict)
    custom_prior_sets: Mapping[str, Any] = field(default_factory=dict)  # name -> PriorSet ([prior_sets])
    roles: TermRoles | None = None  # [roles]; None: the study's arm factors are the treatment contrasts

    def analysis(self, analysis_id: str) -> Analysis:
        for a in self.analyses:
            if a.id == analysis_id:
                return a
        raise KeyError(analysis_id)

    def to_dict(self) -> dict[str, Any]:
        """The plan as data (for run.json): the file as written plus the expanded analyses."""
        return {"name": self.name, "path": str(self.path) if self.path else None, "study": self.study,
                "cohort": str(self.cohort) if self.cohort else None, "seed": self.seed,
                "quick_prior_set": self.quick_prior_set, "quick_sampler": dict(self.quick_sampler),
                "raw": json.loads(json.dumps(self.raw, default=str)),
                "analyses": [json.loads(json.dumps(asdict(a), default=list)) for a in self.analyses]}


def load_plan(path: str | Path) -> Plan:
    """Read and validate a plan file (see the module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise PlanError(Problem(str(path), "plan file not found", "give the path of a plan .toml file"))
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise PlanError(Problem(str(path), f"not valid TOML: {err}", "fix the syntax")) from None
    return parse_plan(raw, path)


def parse_plan(raw: Mapping[str, Any], path: Path | None = None) -> Plan:
    """Plan values from parsed TOML; ``path`` anchors relative study/cohort paths (default: cwd)."""

    fname = str(path) if path else "<plan>"
    base = path.resolve().parent if path else Path.cwd()
    problems: list[Problem] = []

    def bad(key: str, message: str, fix: str) -> None:
        problems.append(Problem(fname, f"key '{key}': {message}", fix))

    unknown_keys(raw, ("plan", "defaults", "analyses", "prior_sets", "roles"), "", bad)
    custom = _custom_prior_sets(raw, fname, problems)
    roles, role_problems = parse_roles(raw["roles"], fname) if "roles" in raw else (None, [])
    problems.extend(role_problems)
    head = table_of(raw, "plan", bad)
    defaults = table_of(raw, "defaults", bad)
    unknown_keys(head, PLAN_KEYS, "plan.", bad)
    unknown_keys(defaults, DEFAULT_KEYS, "defaults.", bad)
    study = head.get("study")
    if not isinstance(study, str) or not study:
        bad("plan.study", "missing or not a string", 'add study = "<bundled name or study folder>" under [plan]')
        raise PlanError(problems, summary=f"{len(problems)} problem(s) in plan {fname}")
    study_ref = str((base / study).resolve()) if (base / study / "study.toml").is_file() else study
    cohort = head.get("cohort")
    seed = head.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        bad("plan.seed", f"{seed!r} is not a non-negative integer", "set seed = 12345")
    entries = raw.get("analyses", [])
    if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
        bad("analyses", "no [[analyses]] tables", "add at least one [[analyses]] table with id and kind")
        entries = []
    analyses = []
    for i, entry in enumerate(entries):
        analyses.extend(_analysis(entry, defaults, i, bad))
    seen: set[str] = set()
    for a in analyses:
        if a.id in seen:
            bad(f"analyses.{a.id}", "duplicate analysis id", "give every analysis a unique id")
        seen.add(a.id)
    plan = Plan(name=str(head.get("name", path.stem if path else "plan")), path=path.resolve() if path else None,
                study=study_ref, cohort=(base / cohort).resolve() if isinstance(cohort, str) else None,
                seed=seed if isinstance(seed, int) else 0, analyses=tuple(analyses),
                quick_prior_set=str(defaults.get("quick_prior_set", "weakly_informative")),
                quick_sampler={**QUICK_SAMPLER, **sampler_settings(defaults.get("quick_sampler", {}),
                                                           "defaults.quick_sampler", bad)},
                description=str(head.get("description", "")), raw=dict(raw), custom_prior_sets=custom, roles=roles)
    if isinstance(cohort, str) and not plan.cohort.is_file():
        bad("plan.cohort", f"file {plan.cohort} not found", "name an existing cohort CSV relative to the plan")
    if not problems:
        problems.extend(check_plan(plan, fname))
    if problems:
        raise PlanError(problems, summary=f"{len(problems)} problem(s) in plan {fname}")
    return plan


# ---- parsing helpers -----------------------------------------------------------------------------------
def _custom_prior_sets(raw: Mapping[str, Any], fname: str, problems: list[Problem]) -> dict[str, Any]:
    """The plan's ``[prior_sets.<name>]`` tables as PriorSets (the sensitivity module's parser)."""
    if "prior_sets" not in raw:
        return {}

    try:
        return custom_prior_sets(raw["prior_sets"], fname)
    except PlanError as err:
        problems.extend(err.problems)
        return {}


def _analysis(entry: dict, defaults: Mapping[str, Any], index: int, bad) -> list[Analysis]:
    where = f"analyses[{index}]" if not isinstance(entry.get("id"), str) else f"analyses.{entry['id']}"
    kind = entry.get("kind")
    if kind not in KINDS:
        bad(f"{where}.kind", f"{kind!r} is not an analysis kind", f"set kind to one of {', '.join(KINDS)}")
        return []
    if not isinstance(entry.get("id"), str) or not entry["id"].replace("_", "").replace("-", "").isalnum():
        bad(f"{where}.id", "missing, or not letters, digits, '_' and '-'", 'set id = "arm_pfs"')
        return []
    unknown_keys(entry, COMMON_KEYS + KIND_KEYS[kind], f"{where}.", bad)
    merged = {k: defaults[k] for k in INHERITED if k in defaults}
    merged.update({k: v for k, v in entry.items() if k not in ("thresholds", "sampler")})
    thresholds = {**thresholds_of(defaults.get("thresholds", {}), "defaults.thresholds", bad),
                  **thresholds_of(entry.get("thresholds", {}), f"{where}.thresholds", bad)}
    kw: dict[str, Any] = {"id": entry["id"], "kind": kind, "title": str(entry.get("title", entry["id"])),
                          "thresholds": thresholds,
                          "prior_sets": strings(merged.get("prior_sets", ["weakly_informative"]),
                                                 f"{where}.prior_sets", bad)}
    if "seed" in entry:
        kw["seed"] = entry["seed"]
    if kind == "survival":
        kw["sampler"] = {**sampler_settings(defaults.get("sampler", {}), "defaults.sampler", bad),
                         **sampler_settings(entry.get("sampler", {}), f"{where}.sampler", bad)}
        for key in ("models", "loo_models", "terms", "continuous", "link", "per_unit", "candidates"):
            if key in merged:
                kw[key] = strings(merged[key], f"{where}.{key}", bad)
        for key, typ in (("endpoint", str), ("primary", str), ("strata", str), ("regimen_effects", bool),
                         ("horizon", (int, float)), ("n_intervals", int), ("baseline", str),
                         ("tipping_points", bool), ("mcid", (int, float)), ("missing", str),
                         ("extrapolate", bool), ("from_landmark", (int, float)), ("selection", str),
                         ("selection_p", float)):
            if key in merged:
                if not isinstance(merged[key], typ) or (typ is not bool and isinstance(merged[key], bool)):
                    bad(f"{where}.{key}", f"{merged[key]!r} has the wrong type", f"see the plan format for {key}")
                else:
                    kw[key] = float(merged[key]) if key in ("horizon", "mcid", "from_landmark") else merged[key]
        if kw.get("n_intervals", 1) < 1:
            bad(f"{where}.n_intervals", f"{kw['n_intervals']} intervals", "use at least 1, or leave it out")
        if "cuts" in merged:
            kw["cuts"] = tuple(float(c) for c in merged["cuts"])
        survival_extras(merged, where, kw, bad)
        pop = merged.get("population", {})
        if not isinstance(pop, dict):
            bad(f"{where}.population", "must be a table of column = value", 'write population = { arm = "B" }')
        else:
            kw["population"] = {str(k): str(v) for k, v in pop.items()}
    elif kind == "response":
        kw["comparisons"] = strings(merged.get("comparisons", []), f"{where}.comparisons", bad)
        kw.update(response_priors(merged, where, bad))
    else:
        kw["tables"] = strings(merged.get("tables", []), f"{where}.tables", bad)
        if "mcid" in merged:
            kw["mcid"] = float(merged["mcid"])
    analysis = Analysis(**kw)
    if kind == "survival" and entry.get("each_term"):
        if not isinstance(entry["each_term"], bool):
            bad(f"{where}.each_term", "must be true or false", "write each_term = true")
        return [replace(analysis, id=f"{analysis.id}_{t}", title=f"{analysis.title}: {t}", terms=(t,), primary=t)
                for t in analysis.terms]
    return [analysis]

