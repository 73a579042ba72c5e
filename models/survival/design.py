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
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from hccbayes.errors import HccbayesError
from hccbayes.models.survival.population import Population, PopulationError, select_population

MODELS = ("weibull", "pem")
BASELINES = ("independent", "rw")


class SpecError(HccbayesError):
    """A survival spec that cannot be applied to the data (unknown term, empty population, ...)."""


@dataclass(frozen=True)
class SurvivalSpec:
    endpoint: str
    terms: tuple[str, ...] = ()
    primary: str | None = None  # the contrast term (gets the prior set's contrast prior); default: first
    continuous: tuple[str, ...] = ()
    population: Mapping[str, Any] = field(default_factory=dict)  # column -> required value
    model: str = "weibull"
    regimen_effects: bool = False
    cuts: tuple[float, ...] | None = None  # PEM interior cut points (months); None: event-time quantiles
    n_intervals: int | None = None  # PEM intervals; None: about 4 events each, 6-20 (intervals.automatic_n_intervals)
    baseline: str = "independent"  # PEM baseline prior: independent | rw (Gaussian random walk on log hazard)
    missing: str | None = None  # missing covariate values: None (refused) | complete_case | impute (population.py)
    per_unit: tuple[str, ...] = ()  # continuous terms entered per unit of their column instead of per SD

    def __post_init__(self):
        if self.model not in MODELS:
            raise SpecError(f"unknown survival model {self.model!r}; use one of {', '.join(MODELS)}")
        if self.baseline not in BASELINES:
            raise SpecError(f"unknown PEM baseline {self.baseline!r}; use one of {', '.join(BASELINES)}")
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


@dataclass(frozen=True)
class Patterns:
    """Distinct covariate rows of a data set: ``rows`` (P, k) in lexicographic order, ``index`` (n,) the
    row of each patient, ``counts`` (P,) patients per row."""

    rows: np.ndarray
    index: np.ndarray
    counts: np.ndarray


@dataclass(frozen=True)
class SurvivalData:
    """Arrays for one survival analysis. Times in the study's unit (months)."""

    time: np.ndarray  # (n,)
    event: np.ndarray  # (n,) 0/1 float
    X: np.ndarray  # (n, p)
    terms: tuple[str, ...]
    ids: np.ndarray  # (n,) patient ids as strings
    arm: np.ndarray | None = None  # (n,) arm index into arm_names
    arm_names: tuple[str, ...] = ()
    regimen: np.ndarray | None = None  # (n,) regimen index into regimen_names
    regimen_names: tuple[str, ...] = ()
    regimen_arm: np.ndarray | None = None  # (R,) arm index of each regimen
    scale: Mapping[str, tuple[float, float]] = field(default_factory=dict)  # continuous term -> (mean, sd)
    # (a term in spec.per_unit keeps its own unit: then only centred, its HR per unit)
    center: np.ndarray | None = None  # (p,) column means of X: models use X − center (see below)

    def centred(self, X: np.ndarray) -> np.ndarray:
        """X − column means of the data. Models work on centred covariates so the baseline hazard is
        that of an average patient (close to the crude rate its prior is centred on); hazard ratios
        are unchanged by centring."""
        c = self.center if self.center is not None else np.zeros(self.X.shape[1])
        return np.asarray(X, float) - c[None, :]

    @property
    def n(self) -> int:
        return len(self.time)

    @property
    def events(self) -> int:
        return int(self.event.sum())

    @property
    def reference_time(self) -> float:
        """Median observed time: the time at which the baseline intercept is defined."""
        return float(np.median(self.time))

    @property
    def crude_rate(self) -> float:
        """Events per unit person-time (a constant-hazard estimate used to centre baseline priors)."""
        return max(self.events, 0.5) / float(self.time.sum())

    @cached_property
    def patterns(self) -> Patterns:
        """Covariate patterns: distinct rows of X (with the regimen index as a last column when there
        are regimen effects). Computed once per data set, shared by the PEM sufficient statistics and
        :func:`degeneracy_notes`."""
        columns = [self.X[:, j] for j in range(self.X.shape[1])]
        if self.regimen is not None:
            columns.append(self.regimen)
        return covariate_patterns(columns, self.n)

    def hash_arrays(self) -> list[np.ndarray]:
        parts = [self.time, self.event, self.X]
        if self.regimen is not None:
            parts.append(self.regimen)
        return parts


def _column_codes(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes 0..k-1 of a column in the order of its values, and the k values. A column of integers with a
    small range (0/1 indicators, regimen indices) is coded as x − min in uint16 (values in between that do
    not occur get a code too): a few vectorised passes and small temporaries, which matter at a million
    rows. Any other column is coded by hashing (pd.factorize)."""
    lo, hi = x.min(), x.max()
    if hi - lo <= np.iinfo(np.uint16).max:
        shifted = x - lo if lo else x  # no copy for columns starting at 0
        code = shifted.astype(np.uint16)
        if np.array_equal(code, shifted):
            return code, lo + np.arange(int(hi - lo) + 1, dtype=np.result_type(x))
    code, values = pd.factorize(x, sort=True, use_na_sentinel=False)
    return code, np.asarray(values)


def covariate_patterns(columns: Sequence[np.ndarray], n: int) -> Patterns:
    """Distinct rows of the given (n,) columns — the same rows, order and index as
    ``np.unique(np.column_stack(columns), axis=0, return_inverse=True, return_counts=True)``, without
    sorting rows. Each column is coded (:func:`_column_codes`) and the codes are combined in mixed radix
    (first column most significant) into one int64 key per row; when the keys are few compared with the
    rows, a lookup table over them replaces the sort."""
    key, radix, coded = np.zeros(n, dtype=np.int64), 1, []
    for column in columns:
        code, values = _column_codes(np.asarray(column))
        radix *= len(values)
        if radix >= 2**62:  # too many combinations for one int64 key
            rows, index, counts = np.unique(np.column_stack(columns), axis=0, return_inverse=True,
                                            return_counts=True)
            return Patterns(rows, index.ravel(), counts)
        key *= len(values)
        key += code
        coded.append(values)
    if radix <= 4 * n:
        counts = np.bincount(key, minlength=radix)
        present = np.flatnonzero(counts)
        lookup = np.zeros(radix, dtype=np.int64)
        lookup[present] = np.arange(present.size)
        index, counts = lookup[key], counts[present]
    else:
        present, index, counts = np.unique(key, return_inverse=True, return_counts=True)
    rows = np.empty((present.size, len(coded)))
    stride = radix
    for j, values in enumerate(coded):  # decode each present key into its column values
        stride //= len(values)
        rows[:, j] = values[present // stride % len(values)]
    return Patterns(rows, index, counts)


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
        if np.isnan(x).any():
            raise SpecError(f"term {t!r} has {int(np.isnan(x).sum())} missing values in this population; "
                            "missing = \"impute\" needs a model with imputation")
        if t in spec.continuous:
            m, s = float(x.mean()), float(x.std(ddof=1))
            if not s > 0:
                raise SpecError(f"continuous term {t!r} is constant in this population")
            if t not in spec.per_unit:
                x = (x - m) / s
            scale[t] = (m, s)
        elif x.min() == x.max():
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
    return SurvivalData(
        time=sub[tcol].astype(float).to_numpy(), event=event, X=X, terms=tuple(spec.terms), ids=ids,
        arm=arm, arm_names=arm_names, regimen=regimen, regimen_names=regimen_names, regimen_arm=regimen_arm,
        scale=scale, center=np.array([x.mean() for x in cols]))


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
        ones = pat.rows[:, j] == 1.0
        if not (ones | (pat.rows[:, j] == 0.0)).all():
            continue  # not a 0/1 term
        n1, e1 = int(pat.counts[ones].sum()), float(pattern_events[ones].sum())
        for level, n, e in ((0, data.n - n1, events - e1), (1, n1, e1)):
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
