"""From a validated cohort to the arrays a survival model needs.

:class:`SurvivalSpec` says what to model (endpoint, terms, population, baseline, regimen effects);
:func:`survival_data` turns a validated cohort DataFrame (:func:`hccbayes.data.cohort.load_cohort`,
whose derived 0/1 factor columns are named after the study's factors) into :class:`SurvivalData`.
Binary factors enter as 0/1; a term listed in ``continuous`` enters standardised ((x − mean)/sd of the
modelled population), so its HR is per standard deviation.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd

from hccbayes.errors import HccbayesError

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
    n_intervals: int = 6
    baseline: str = "independent"  # PEM baseline prior: independent | rw (Gaussian random walk on log hazard)

    def __post_init__(self):
        if self.model not in MODELS:
            raise SpecError(f"unknown survival model {self.model!r}; use one of {', '.join(MODELS)}")
        if self.baseline not in BASELINES:
            raise SpecError(f"unknown PEM baseline {self.baseline!r}; use one of {', '.join(BASELINES)}")
        object.__setattr__(self, "terms", tuple(self.terms))
        object.__setattr__(self, "continuous", tuple(self.continuous))
        if self.cuts is not None:
            object.__setattr__(self, "cuts", tuple(float(c) for c in self.cuts))
        object.__setattr__(self, "population", dict(self.population))

    @property
    def contrast_term(self) -> str | None:
        return self.primary or (self.terms[0] if self.terms else None)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, default=list)


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

    def hash_arrays(self) -> list[np.ndarray]:
        parts = [self.time, self.event, self.X]
        if self.regimen is not None:
            parts.append(self.regimen)
        return parts


def survival_data(df: pd.DataFrame, study, spec: SurvivalSpec) -> SurvivalData:
    """Select the population, check the terms and build the arrays for ``spec``."""
    ep = study.endpoint(spec.endpoint) if hasattr(study, "endpoint") else None
    tcol, ecol = (ep.time, ep.event) if ep else (f"{spec.endpoint}_months", f"{spec.endpoint}_event")
    sub = df
    for col, val in spec.population.items():
        if col not in sub.columns:
            raise SpecError(f"population filter names unknown column {col!r}")
        sub = sub[sub[col].astype(str) == str(val)]
    if len(sub) == 0:
        raise SpecError(f"no patients in population {spec.population}")
    missing = [t for t in spec.terms if t not in sub.columns]
    if missing:
        raise SpecError(f"unknown term(s) {missing}: use factor names of the study or cohort columns")
    cols, scale = [], {}
    for t in spec.terms:
        x = sub[t].astype(float).to_numpy()
        if np.isnan(x).any():
            raise SpecError(f"term {t!r} has {int(np.isnan(x).sum())} missing values in this population; "
                            "complete-case analysis is not automatic — filter the population explicitly")
        if t in spec.continuous:
            m, s = float(x.mean()), float(x.std(ddof=1))
            if not s > 0:
                raise SpecError(f"continuous term {t!r} is constant in this population")
            x = (x - m) / s
            scale[t] = (m, s)
        elif np.unique(x).size < 2:
            raise SpecError(f"term {t!r} has a single level in this population; its hazard ratio is not "
                            "identified — drop it from the analysis")
        cols.append(x)
    event_col = sub[ecol].astype(float)
    if not (event_col > 0).any():
        raise SpecError(f"no {spec.endpoint} events among the {len(sub)} patients of population "
                        f"{spec.population or 'all'}: there is nothing to estimate — check the event column "
                        f"{ecol!r} (1 = event, 0 = censored)")
    X = np.column_stack(cols) if cols else np.zeros((len(sub), 0))
    arm_names = tuple(study.arm_names) if hasattr(study, "arm_names") else ()
    arm = regimen = regimen_arm = None
    regimen_names: tuple[str, ...] = ()
    if arm_names and study.arm_column in sub.columns:
        arm = pd.Categorical(sub[study.arm_column].astype(str), categories=list(arm_names)).codes.astype(np.int64)
    if spec.regimen_effects:
        regimen_names = tuple(r for a in study.arms for r in a.regimens
                              if (sub[study.regimen_column] == r).any())
        regimen = pd.Categorical(sub[study.regimen_column].astype(str),
                                 categories=list(regimen_names)).codes.astype(np.int64)
        regimen_arm = np.array([arm_names.index(study.arm_of_regimen(r)) for r in regimen_names])
    return SurvivalData(
        time=sub[tcol].astype(float).to_numpy(), event=sub[ecol].astype(float).to_numpy(), X=X,
        terms=tuple(spec.terms), ids=np.asarray(sub[study.id_column].astype(str).to_numpy(dtype=object))
        if hasattr(study, "id_column") else np.arange(len(sub)).astype(str), arm=arm, arm_names=arm_names, regimen=regimen,
        regimen_names=regimen_names, regimen_arm=regimen_arm, scale=scale, center=X.mean(axis=0))


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
    if data.events == 0:
        notes.append("no events: hazard ratios are informed by the prior only")
    for j, term in enumerate(data.terms):
        ones = data.X[:, j] == 1.0
        if not (ones | (data.X[:, j] == 0.0)).all():
            continue  # not a 0/1 term
        n1, e1 = int(ones.sum()), float(data.event[ones].sum())
        for level, n, e in ((0, data.n - n1, data.events - e1), (1, n1, e1)):
            label = f"{term} = {level}"
            if n < TINY_GROUP:
                notes.append(f"{label}: only {n} patients")
            if e == 0 and data.events > 0:
                notes.append(f"{label}: no events among {n} patients — the log-HR of {term} is "
                             "not bounded by the data (monotone likelihood); only its prior keeps it finite")
    if data.regimen is not None:
        for r, name in enumerate(data.regimen_names):
            mask = data.regimen == r
            if mask.sum() < TINY_GROUP:
                notes.append(f"regimen {name}: only {int(mask.sum())} patients")
            if data.event[mask].sum() == 0:
                notes.append(f"regimen {name}: no events — its effect is informed by the pooling prior only")
    return notes

