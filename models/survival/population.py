"""The patients of one survival analysis: its population filter, then its rule for missing covariates.

A population filter (``population = { arm = "Lev" }``) keeps the patients whose column has that value. A
term of the analysis with missing values then needs a rule, said in the plan (``missing``):

* ``"complete_case"`` — patients with a missing value in any term are left out; how many, and for which
  terms, is counted (:attr:`Population.note`) and goes into the table's notes and the report;
* ``"impute"`` — every patient stays; the missing values are parameters of the model (Bayesian
  imputation, :mod:`hccbayes.models.survival.imputation`).

Without a rule an analysis whose terms have missing values is refused (a :class:`SpecError` naming the
terms, the counts and both rules): leaving patients out silently changes the population a hazard ratio
describes, so the choice is the analyst's.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hccbayes.errors import HccbayesError

MISSING_RULES = ("complete_case", "impute")


class PopulationError(HccbayesError):
    """The population of an analysis cannot be formed (unknown column, no patients, missing values)."""


@dataclass(frozen=True)
class Population:
    """The analysed patients (``frame``), with what the missing-value rule did."""

    frame: pd.DataFrame
    selected: int  # patients in the population filter, before any missing-value rule
    missing: dict[str, int] = field(default_factory=dict)  # term -> patients missing it (of ``selected``)
    rule: str | None = None
    complete: int | None = None  # patients with every term observed

    @property
    def dropped(self) -> int:
        return self.selected - len(self.frame)

    @property
    def incomplete(self) -> int:
        """Patients missing at least one term's value (left out, or imputed)."""
        return self.selected - (self.complete if self.complete is not None else self.selected)

    @property
    def note(self) -> str:
        """'complete cases: 888 of 929 patients (41 left out; missing nodes 18, differ_poor 23)', 'missing values
        imputed in the model for 41 of 929 patients (nodes 18, differ_poor 23)', or '' when no patient had a
        missing value."""
        if not self.missing:
            return ""
        counts = ", ".join(f"{t} {n}" for t, n in self.missing.items())
        if self.rule == "complete_case":
            return (f"complete cases: {len(self.frame)} of {self.selected} patients ({self.dropped} left out; "
                    f"missing {counts})")
        return (f"missing values imputed in the model for {self.incomplete} of {self.selected} patients "
                f"({counts})")

    @property
    def frequentist_note(self) -> str:
        """What the frequentist reference (complete cases always: Cox drops incomplete rows) says."""
        if self.rule != "impute" or not self.missing:
            return self.note
        return (f"complete cases: {self.complete} of {self.selected} patients (the Bayesian models impute the "
                f"missing values of {self.incomplete}: {', '.join(f'{t} {n}' for t, n in self.missing.items())})")


def select_population(df: pd.DataFrame, population: dict, terms: tuple[str, ...], rule: str | None
                      ) -> Population:
    """The patients of an analysis (see the module docstring); ``terms`` are cohort columns (factors
    derived by :func:`hccbayes.data.cohort.load_cohort` or continuous columns)."""
    if rule is not None and rule not in MISSING_RULES:
        raise PopulationError(f"unknown missing-value rule {rule!r}; use one of {', '.join(MISSING_RULES)}")
    sub = df
    for col, val in population.items():
        if col not in sub.columns:
            raise PopulationError(f"population filter names unknown column {col!r}")
        sub = sub[sub[col].astype(str) == str(val)]
    if len(sub) == 0:
        raise PopulationError(f"no patients in population {dict(population)}")
    unknown = [t for t in terms if t not in sub.columns]
    if unknown:
        raise PopulationError(f"unknown term(s) {unknown}: use factor names of the study or cohort columns")
    gaps = {t: int(sub[t].isna().sum()) for t in terms if sub[t].isna().any()}
    if gaps and rule is None:
        counts = ", ".join(f"{t!r} {n}" for t, n in gaps.items())
        raise PopulationError(f"missing values in this population ({counts} of {len(sub)} patients) and no rule "
                              "for them: set missing = \"complete_case\" (leave those patients out, counted in "
                              "the notes) or missing = \"impute\" (Bayesian imputation in the model) in the "
                              "analysis")
    keep = np.ones(len(sub), dtype=bool)
    for t in gaps:
        keep &= sub[t].notna().to_numpy()
    if gaps and rule == "complete_case":
        if not keep.any():
            raise PopulationError(f"no complete cases among the {len(sub)} patients of population "
                                  f"{dict(population) or 'all'}")
        return Population(sub[keep], len(sub), gaps, rule, int(keep.sum()))
    return Population(sub, len(sub), gaps, rule, int(keep.sum()))
