"""Seeded permutation search: which pseudo-patient gets which covariate value and which survival
profile, so that the Cox hazard ratios and the covariate-defined KM medians come close to the paper.

Every move preserves every hard target: a covariate value is swapped between two patients of the same
arm (per-arm counts and quartiles unchanged) or a survival profile (PFS, OS, events, best response)
between two patients of the same regimen (regimen KM medians and per-arm response counts unchanged).
The start is a proportional-hazards ordering with the published multivariable log-HRs (Weibull PH
latent times conditioned on the regimen's profile set); moves are accepted by a slowly cooling
Metropolis rule on a weighted distance to the soft targets.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from hccbayes.data.reconstruction.compare import metropolis_accept
from hccbayes.data.reconstruction.fast import cox_multivariable, cox_univariable, km_median
from hccbayes.data.reconstruction.targets import CoxTarget, Targets, norm_level
from hccbayes.data.study import Study

log = logging.getLogger(__name__)
Z = 1.959964


def population_mask(df: pd.DataFrame, study: Study, population: str) -> np.ndarray:
    """Rows of a registry population: 'all', 'arm:X', 'regimen:R' or '<column>:<level>'."""
    if population == "all":
        return np.ones(len(df), bool)
    kind, _, level = population.partition(":")
    column = {"arm": study.arm_column, "regimen": study.regimen_column}.get(kind, kind)
    return (df[column].astype(str).map(norm_level) == norm_level(level)).to_numpy()


@dataclass
class _Group:
    population: str
    endpoint: str
    model: str
    rows: list[CoxTarget]
    cols: np.ndarray  # factor columns


class Objective:
    """Weighted distance of a cohort state to the soft targets (lower is better)."""

    def __init__(self, study: Study, targets: Targets, settings: dict[str, Any], factors: list[str]):
        s = settings.get("survival", {})
        self.study = study
        self.factors = factors
        self.w_sig = float(s.get("weight_significant_hr", 4.0))
        self.w_oth = float(s.get("weight_other_hr", 0.3))
        self.w_multi = float(s.get("weight_multivariable", 1.5))
        self.w_med = float(s.get("weight_median", 3.0))
        groups: dict[tuple, list[CoxTarget]] = {}
        for t in targets.cox:
            if t.factor in factors:
                groups.setdefault((t.population, t.endpoint, t.model), []).append(t)
        self.groups = [_Group(p, e, m, rows, np.array([factors.index(r.factor) for r in rows]))
                       for (p, e, m), rows in groups.items()]
        for g in self.groups:
            g.log_hr = np.log([r.hr for r in g.rows])
            g.se = np.maximum(np.log([r.upper / r.lower for r in g.rows]) / (2 * Z), 0.05)
            g.sig = np.array([r.significant for r in g.rows])
        self.medians = [t for t in targets.medians if t.population != "all"
                        and t.population.split(":", 1)[0] not in ("arm", "regimen")]
        self._beta: list = [None] * len(self.groups)
        self._pending: list = []

    def __call__(self, state: "State") -> float:
        """Objective of ``state``; Newton warm-starts from the last committed fits."""
        total = 0.0
        self._pending = []
        for g, warm in zip(self.groups, self._beta):
            m = state.masks[g.population]
            time, event = state.time[g.endpoint][m], state.event[g.endpoint][m]
            X = state.F[m][:, g.cols]
            iters = 10 if warm is None else 4
            if g.model == "univariable":
                beta = cox_univariable(time, event, X, iters, warm)
                z = (beta - g.log_hr) / g.se
                outside = np.maximum(np.abs(z) - 1.6, 0)
                total += float(np.sum(np.where(g.sig, self.w_sig * (z ** 2 + 10 * outside ** 2),
                                               self.w_oth * z ** 2)))
            else:
                beta = cox_multivariable(time, event, X, iters, warm)
                wrong = np.maximum(-np.sign(g.log_hr) * beta + 0.05, 0)
                total += self.w_multi * float(np.sum(10 * wrong ** 2 + 0.1 * ((beta - g.log_hr) / g.se) ** 2))
            self._pending.append(beta)
        for t in self.medians:
            m = state.masks[t.population]
            med = km_median(state.time[t.endpoint][m], state.event[t.endpoint][m])
            total += self.w_med * (((med - t.estimate) / 0.5) ** 2 if np.isfinite(med) else 100.0)
        return total

    def commit(self) -> None:
        """Keep the fits of the last evaluated state as the next warm start."""
        self._beta = list(self._pending)


class State:
    """The mutable cohort: covariate values, factor indicators, survival arrays and population masks."""

    def __init__(self, df: pd.DataFrame, study: Study, factors: list[str], populations: list[str],
                 columns: list[str]):
        self.study, self.factors, self.populations = study, factors, populations
        self.df = df
        self.values = {c: df[c].to_numpy(copy=True) for c in columns}
        self.F = np.column_stack([study.factors[f].indicator(df[study.factors[f].column]).to_numpy(float)
                                  for f in factors])
        self.time = {e.name: df[e.time].to_numpy(float).copy() for e in study.endpoints}
        self.event = {e.name: df[e.event].to_numpy(bool).copy() for e in study.endpoints}
        self.refresh()

    def frame(self) -> pd.DataFrame:
        out = self.df.copy()
        for c, v in self.values.items():
            out[c] = v
        return out

    def refresh(self) -> None:
        view = self.df.copy()
        for c, v in self.values.items():
            view[c] = v
        self.masks = {p: population_mask(view, self.study, p) for p in self.populations}

    def swap(self, columns: list[str], i: int, j: int) -> None:
        for c in columns:
            arr = self.values[c]
            arr[i], arr[j] = arr[j], arr[i]
        for k, f in enumerate(self.factors):
            if self.study.factors[f].column in columns:
                self.F[[i, j], k] = self.F[[j, i], k]
        for e in self.study.endpoints:
            if e.time in columns:
                for arr in (self.time[e.name], self.event[e.name]):
                    arr[[i, j]] = arr[[j, i]]


def initial_order(df: pd.DataFrame, study: Study, targets: Targets, factors: list[str],
                  profile_cols: list[str], rng: np.random.Generator) -> pd.DataFrame:
    """Give longer profiles to patients of lower published risk (Weibull PH with Gumbel noise)."""
    final = next((e for e in study.endpoints if e.implies), study.endpoints[-1])  # OS: implies PFS
    beta = {}
    for t in targets.cox:  # whole-cohort multivariable first, then univariable, for the final endpoint
        if t.population == "all" and t.endpoint == final.name and t.factor in factors:
            if t.model == "multivariable" or t.factor not in beta:
                beta[t.factor] = np.log(t.hr)
    lp = np.zeros(len(df))
    for f, b in beta.items():
        lp += b * study.factors[f].indicator(df[study.factors[f].column]).fillna(0).to_numpy(float)
    risk = lp + rng.gumbel(size=len(df))
    os_col = final.time
    out = df.copy()
    for r in pd.unique(df[study.regimen_column]):
        idx = np.flatnonzero((df[study.regimen_column] == r).to_numpy())
        by_profile = idx[np.argsort(-df[os_col].to_numpy(float)[idx], kind="stable")]
        by_risk = idx[np.argsort(risk[idx], kind="stable")]
        out.loc[out.index[by_risk], profile_cols] = df.loc[df.index[by_profile], profile_cols].to_numpy()
    return out


def search(df: pd.DataFrame, study: Study, targets: Targets, settings: dict[str, Any],
           profile_cols: list[str], rng: np.random.Generator) -> pd.DataFrame:
    """A re-arrangement of ``df`` (hard targets untouched) that is closer to the soft targets."""
    factors = sorted({t.factor for t in targets.cox if study.factors[t.factor].column != study.arm_column})
    factors = [f for f in study.factors if f in factors]
    df = initial_order(df, study, targets, factors, profile_cols, rng)
    pops = sorted({t.population for t in targets.cox} | {t.population for t in targets.medians})
    movable = list(dict.fromkeys(study.factors[f].column for f in factors))
    state = State(df, study, factors, pops, movable + profile_cols)
    objective = Objective(study, targets, settings, factors)
    pop_cols = {t.population.split(":", 1)[0] for t in objective.medians}
    arms = df[study.arm_column].to_numpy()
    regs = df[study.regimen_column].to_numpy()
    current = start = objective(state)
    objective.commit()
    iters = int(settings.get("survival", {}).get("search_iterations", 12000))
    for it in range(iters):
        temp = 0.5 * (1 - it / iters) + 1e-3
        if rng.random() < 0.5:
            columns, group = [movable[int(rng.integers(len(movable)))]], arms
        else:
            columns, group = profile_cols, regs
        idx = np.flatnonzero(group == group[int(rng.integers(len(group)))])
        i, j = (int(v) for v in rng.choice(idx, 2, replace=False))
        state.swap(columns, i, j)
        if pop_cols.intersection(columns):
            state.refresh()
        new = objective(state)
        if metropolis_accept(new, current, temp, float(rng.random())):
            current = new
            objective.commit()
        else:
            state.swap(columns, i, j)
            if pop_cols.intersection(columns):
                state.refresh()
    log.info("arrangement search: objective %.2f -> %.2f in %d moves", start, current, iters)
    return state.frame()
