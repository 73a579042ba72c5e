"""The arrays of one survival analysis (:class:`SurvivalData`) and its covariate patterns — what every
survival family computes with; :mod:`hccbayes.models.survival.design` builds them from a cohort."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from hccbayes.errors import HccbayesError


class SpecError(HccbayesError):
    """A survival spec that cannot be applied to the data (unknown term, empty population, ...)."""


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
    per_unit: tuple[str, ...] = ()  # the continuous terms entered in their own unit
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

