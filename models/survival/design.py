"""From a validated cohort to the arrays a survival model needs.

:class:`SurvivalSpec` says what to model (endpoint, terms, population, baseline, regimen effects);
:func:`survival_data` turns a validated cohort DataFrame (:func:`hccbayes.data.cohort.load_cohort`,
whose derived 0/1 factor columns are named after the study's factors) into :class:`SurvivalData`.
Binary factors enter as 0/1; a term listed in ``continuous`` enters standardised ((x − mean)/sd of the
modelled population), so its HR is per standard deviation — or, listed in ``per_unit`` too, per unit of its
column. The patients are those of the spec's population filter and missing-value rule
(:mod:`hccbayes.models.survival.population`).
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from hccbayes.models.survival.arrays import SpecError, SurvivalData
from hccbayes.models.survival.families import BASELINES, MODELS
from hccbayes.models.survival.imputation import check_terms
from hccbayes.models.survival.population import Population, PopulationError, select_population


@dataclass(frozen=True)
class SurvivalSpec:
    endpoint: str
    terms: tuple[str, ...] = ()
    primary: str | None = None  # the contrast term (gets the prior set's contrast prior); default: first
    continuous: tuple[str, ...] = ()
    population: Mapping[str, Any] = field(default_factory=dict)  # column -> required value
    model: str = "weibull"
    regimen_effects: bool = False
    # the baseline's interior time points (PEM cut points, spline knots) in the study's time unit, or None: the
    # family's default at event-time quantiles; n_intervals: how many pieces they make (None: the family's
    # default, e.g. about 4 events per PEM interval); baseline: independent | rw (a Gaussian random walk on
    # the PEM log hazards; families without that option ignore it)
    cuts: tuple[float, ...] | None = None
    n_intervals: int | None = None
    baseline: str = "independent"
    missing: str | None = None  # missing covariate values: None (refused) | complete_case | impute (population.py)
    per_unit: tuple[str, ...] = ()  # continuous terms entered per unit of their column instead of per SD

    def __post_init__(self):
        if self.model not in MODELS:
            raise SpecError(f"unknown survival model {self.model!r}; use one of {', '.join(MODELS)}")
        if self.baseline not in BASELINES:
            raise SpecError(f"unknown baseline {self.baseline!r}; use one of {', '.join(BASELINES)}")
        object.__setattr__(self, "terms", tuple(self.terms))
        object.__setattr__(self, "continuous", tuple(self.continuous))
        object.__setattr__(self, "per_unit", tuple(self.per_unit))
        if self.cuts is not None:
            object.__setattr__(self, "cuts", tuple(float(c) for c in self.cuts))
        if self.n_intervals is not None and self.n_intervals < 1:
            raise SpecError(f"n_intervals must be at least 1, got {self.n_intervals}")
        object.__setattr__(self, "population", dict(self.population))

    @property
    def contrast_term(self) -> str | None:
        return self.primary or (self.terms[0] if self.terms else None)

    def to_json(self) -> str:
        """The spec as JSON (its fits' hash input); the missing-value rule and per-unit terms only when set, so
        the specs that predate them keep their JSON (and their cached fits)."""
        d = asdict(self)
        for key, default in (("missing", None), ("per_unit", ())):
            if d[key] == default or d[key] == list(default or ()):
                del d[key]
        return json.dumps(d, sort_keys=True, default=list)


def _level_codes(column: pd.Series, names: Sequence[str]) -> np.ndarray:
    """Index of each value (as a string) in ``names``; −1 for values not in it (and missing values).
    The column is hashed once and only its distinct values are compared with the names."""
    code, uniques = pd.factorize(column)  # missing values get code −1
    lookup = np.append(pd.Index(list(names)).get_indexer(pd.Index(uniques).astype(str)), -1).astype(np.int64)
    return lookup[code]


def analysis_population(df: pd.DataFrame, spec: SurvivalSpec) -> Population:
    """The patients of ``spec``: its population filter, then its missing-value rule (population.py)."""
    try:
        return select_population(df, spec.population, spec.terms, spec.missing)
    except PopulationError as err:
        raise SpecError(str(err)) from None


def survival_data(df: pd.DataFrame, study, spec: SurvivalSpec) -> SurvivalData:
    """Select the population, check the terms and build the arrays for ``spec``."""
    ep = study.endpoint(spec.endpoint) if hasattr(study, "endpoint") else None
    tcol, ecol = (ep.time, ep.event) if ep else (f"{spec.endpoint}_months", f"{spec.endpoint}_event")
    sub = analysis_population(df, spec).frame
    cols, scale = [], {}
    for t in spec.terms:
        x = sub[t].astype(float).to_numpy()
        if np.isnan(x).any() and spec.missing != "impute":
            raise SpecError(f"term {t!r} has {int(np.isnan(x).sum())} missing values in this population; "
                            "set missing = \"complete_case\" or \"impute\"")
        seen = x[~np.isnan(x)]  # missing values (imputed) stay NaN; scale and centre from the observed ones
        if seen.size == 0:
            raise SpecError(f"term {t!r} has no observed value in this population: it cannot be imputed — drop it")
        if t in spec.continuous:
            m, s = float(seen.mean()), float(seen.std(ddof=1))
            if not s > 0:
                raise SpecError(f"continuous term {t!r} is constant in this population")
            if t not in spec.per_unit:
                x = (x - m) / s
            scale[t] = (m, s)
        elif seen.min() == seen.max():
            raise SpecError(f"term {t!r} has a single level in this population; its hazard ratio is not "
                            "identified — drop it from the analysis")
        cols.append(x)
    event = sub[ecol].astype(float).to_numpy()
    if not (event > 0).any():
        raise SpecError(f"no {spec.endpoint} events among the {len(sub)} patients of population "
                        f"{spec.population or 'all'}: there is nothing to estimate — check the event column "
                        f"{ecol!r} (1 = event, 0 = censored)")
    X = np.column_stack(cols) if cols else np.zeros((len(sub), 0))
    arm_names = tuple(study.arm_names) if hasattr(study, "arm_names") else ()
    arm = regimen = regimen_arm = None
    regimen_names: tuple[str, ...] = ()
    if arm_names and study.arm_column in sub.columns:
        arm = _level_codes(sub[study.arm_column], arm_names)
    if spec.regimen_effects and getattr(study, "regimen_column", None) is None:
        raise SpecError("regimen effects need regimens, and the study declares no regimen_column")
    if spec.regimen_effects:
        present = set(pd.unique(sub[study.regimen_column]))
        regimen_names = tuple(r for a in study.arms for r in a.regimens if r in present)
        regimen = _level_codes(sub[study.regimen_column], regimen_names)
        regimen_arm = np.array([arm_names.index(study.arm_of_regimen(r)) for r in regimen_names])
    ids = sub[study.id_column].astype(str).to_numpy(dtype=object) if hasattr(study, "id_column") \
        else np.arange(len(sub)).astype(str)
    data = SurvivalData(
        time=sub[tcol].astype(float).to_numpy(), event=event, X=X, terms=tuple(spec.terms), ids=ids,
        arm=arm, arm_names=arm_names, regimen=regimen, regimen_names=regimen_names, regimen_arm=regimen_arm,
        scale=scale, per_unit=tuple(t for t in spec.per_unit if t in scale),
        center=np.array([x[~np.isnan(x)].mean() for x in cols]))
    if spec.missing == "impute":  # refuse here (before any fit) what cannot be imputed
        factors = getattr(study, "factors", {})
        check_terms(data, {t: factors[t].column for t in spec.terms if t in factors})
    return data


TINY_GROUP = 5


def degeneracy_notes(data: SurvivalData) -> list[str]:
    """Plain-language warnings about data the likelihood cannot inform well.

    * no events at all, or a level of a binary term with no events (the log-HR is then unbounded in the
      likelihood: only the prior keeps it finite — the 'vague' set will not, and its fit will show it);
    * every event in one level of a binary term, with the other level's patients all censored
      (monotone likelihood, the Cox analogue of perfect separation);
    * a level of a binary term with fewer than ``TINY_GROUP`` patients (estimates rest on a handful);
    * regimens with no events or fewer than ``TINY_GROUP`` patients.
    """
    notes = []
    events = data.events
    if events == 0:
        notes.append("no events: hazard ratios are informed by the prior only")
    pat = data.patterns  # counted per covariate pattern, not per patient
    pattern_events = np.bincount(pat.index, weights=data.event, minlength=pat.counts.size)
    for j, term in enumerate(data.terms):
        ones, zeros = pat.rows[:, j] == 1.0, pat.rows[:, j] == 0.0
        if not (ones | zeros | np.isnan(pat.rows[:, j])).all():
            continue  # not a 0/1 term (missing values, imputed, are counted in neither level)
        n1, e1 = int(pat.counts[ones].sum()), float(pattern_events[ones].sum())
        n0, e0 = int(pat.counts[zeros].sum()), float(pattern_events[zeros].sum())
        for level, n, e in ((0, n0, e0), (1, n1, e1)):
            label = f"{term} = {level}"
            if n < TINY_GROUP:
                notes.append(f"{label}: only {n} patients")
            if e == 0 and events > 0:
                notes.append(f"{label}: no events among {n} patients — the log-HR of {term} is "
                             "not bounded by the data (monotone likelihood); only its prior keeps it finite")
    if data.regimen is not None:
        for r, name in enumerate(data.regimen_names):
            mask = pat.rows[:, -1] == r
            if pat.counts[mask].sum() < TINY_GROUP:
                notes.append(f"regimen {name}: only {int(pat.counts[mask].sum())} patients")
            if pattern_events[mask].sum() == 0:
                notes.append(f"regimen {name}: no events — its effect is informed by the pooling prior only")
    return notes
