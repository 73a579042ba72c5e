"""Baseline columns of the pseudo-patient cohort: exact per-arm counts of every categorical column,
per-arm quartiles of every continuous column, and coherent adverse events.

Categorical and adverse-event columns are dealt per arm from the published counts and shuffled with the
seeded generator. A continuous column is drawn per arm as a sorted sample whose R type-7 quantiles
(``quantile(x, c(.25, .5, .75))``, the default of R and of tableone-style tables) equal the published
median and quartiles exactly: the order statistics that type 7 reads are pinned to the published values,
the others are filled in between (on the log scale for right-skewed indices), with a chosen number of
patients above the paper's cut-off.
"""
from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from hccbayes.data.reconstruction.targets import ReconstructionError, Targets
from hccbayes.data.study import Study
from hccbayes.errors import Problem

log = logging.getLogger(__name__)
QUARTILES = (0.25, 0.5, 0.75)


def skeleton(study: Study, targets: Targets) -> pd.DataFrame:
    """id, arm and regimen of every pseudo-patient, regimens in study order."""
    regimens = [r for arm in study.arms for r in arm.regimens]
    reg = np.repeat(regimens, [targets.sizes[r] for r in regimens])
    width = len(str(len(reg)))
    return pd.DataFrame({
        study.id_column: [f"P{i + 1:0{width}d}" for i in range(len(reg))],
        study.arm_column: [study.arm_of_regimen(r) for r in reg],
        study.regimen_column: reg,
    })


def deal_counts(counts: dict[str, int], n: int, rng: np.random.Generator, where: str) -> np.ndarray:
    """A shuffled array of ``n`` values holding each value exactly ``counts[value]`` times."""
    if sum(counts.values()) != n:
        raise ReconstructionError(Problem(where, f"counts {counts} do not add up to the group size {n}",
                                          "fix the published counts"))
    values = np.repeat(np.array(list(counts), dtype=object), list(counts.values()))
    return rng.permutation(values)


def type7_positions(n: int, p: float) -> tuple[int, int]:
    """0-based order statistics that R's type-7 quantile interpolates between."""
    h = (n - 1) * p
    return int(np.floor(h)), int(np.ceil(h))


def pinned_sample(n: int, quartiles: tuple[float, float, float], rng: np.random.Generator, *,
                  decimals: int, log_scale: bool, tail: float, cutoff: float | None = None,
                  n_high: int | None = None, bounds: tuple[float | None, float | None] = (None, None),
                  where: str = "") -> np.ndarray:
    """Sorted sample of size n whose type-7 quartiles are exactly ``quartiles`` (see module doc)."""
    fwd, back = (np.log, np.exp) if log_scale else ((lambda v: v), (lambda v: v))
    q1, med, q3 = quartiles
    pinned: dict[int, float] = {}
    for p, q in zip(QUARTILES, quartiles):
        for pos in type7_positions(n, p):
            pinned[pos] = q
    lo_end = back(fwd(q1) - tail * (fwd(med) - fwd(q1)))
    hi_end = back(fwd(q3) + tail * (fwd(q3) - fwd(med)))
    lo_end = max(lo_end, bounds[0]) if bounds[0] is not None else lo_end
    hi_end = min(hi_end, bounds[1]) if bounds[1] is not None else hi_end
    first_high = n - n_high if cutoff is not None and n_high is not None else None
    if first_high is not None:
        bad = [pos for pos, v in pinned.items() if (pos >= first_high) != (v > cutoff)]
        if bad:
            raise ReconstructionError(Problem(where, f"{n_high} of {n} above the cut-off {cutoff:g} is "
                                              f"impossible with the published quartiles {quartiles}",
                                              "choose another above_cutoff count in reconstruction.toml"))
        if first_high < n:
            hi_end = max(hi_end, cutoff * 1.25 if cutoff > 0 else cutoff + 1)
        if first_high > 0:
            lo_end = min(lo_end, cutoff * 0.8 if cutoff > 0 else cutoff - 1)
    anchors = [(-1, lo_end)] + sorted(pinned.items()) + [(n, hi_end)]
    x = np.empty(n)
    step = 10.0 ** -decimals
    for (i, a), (j, b) in zip(anchors[:-1], anchors[1:]):
        for k in range(i + 1, j):
            lo, hi = a, b
            if first_high is not None:
                lo, hi = (max(a, cutoff + step), max(b, cutoff + step)) if k >= first_high else \
                    (min(a, cutoff), min(b, cutoff))
            x[k] = back(rng.uniform(fwd(lo), fwd(hi)))
        for k in range(i + 1, j):
            x[k] = np.clip(round(x[k], decimals), min(a, b), max(a, b)) if first_high is None else \
                round(x[k], decimals)
            if first_high is not None:
                x[k] = max(x[k], cutoff + step) if k >= first_high else min(x[k], cutoff)
        if 0 <= j < n:
            x[j] = b
    x = np.sort(x)
    if not np.allclose(np.quantile(x, QUARTILES), quartiles, rtol=0, atol=step / 2):
        raise ReconstructionError(Problem(where, "could not pin the published quartiles",
                                          "check decimals / above_cutoff in reconstruction.toml"))
    return x


def _continuous(study: Study, targets: Targets, settings: dict[str, Any], df: pd.DataFrame,
                rng: np.random.Generator) -> None:
    cont = settings.get("continuous", {})
    above = settings.get("above_cutoff", {})
    for t in targets.quantiles:
        col = study.column(t.column)
        spec = {"decimals": 2, "log": True, "tail": 2.0, **cont.get("default", {}), **cont.get(t.column, {})}
        mask = (df[study.arm_column] == t.arm).to_numpy()
        n_high = above.get(t.column, {}).get(t.arm)
        x = pinned_sample(int(mask.sum()), (t.q1, t.median, t.q3), rng, decimals=int(spec["decimals"]),
                          log_scale=bool(spec["log"]) and t.q1 > 0, tail=float(spec["tail"]),
                          cutoff=col.cutoff if n_high is not None else None, n_high=n_high,
                          bounds=(col.min, col.max), where=f"{t.entry} ({t.column}, arm {t.arm})")
        if t.column not in df:
            df[t.column] = np.nan
        df.loc[mask, t.column] = rng.permutation(x)


def _categorical(study: Study, targets: Targets, df: pd.DataFrame, rng: np.random.Generator) -> None:
    for c in study.columns:
        if c.type not in ("categorical", "binary"):
            continue
        values = pd.Series(pd.NA, index=df.index, dtype=object)
        for arm in study.arm_names:
            counts = targets.counts_for(c.name, arm)
            mask = (df[study.arm_column] == arm).to_numpy()
            if not counts:
                log.warning("no published counts for column %r in arm %s; left missing", c.name, arm)
                continue
            values[mask] = deal_counts(counts, int(mask.sum()), rng, f"{c.name}, arm {arm}")
        df[c.name] = values


def _weighted_pick(pool: list[int], k: int, load: np.ndarray, rng: np.random.Generator, where: str) -> list[int]:
    """k of ``pool``, preferring patients with fewer events so far (every AE patient has an event)."""
    if k > len(pool):
        raise ReconstructionError(Problem(where, f"needs {k} patients but only {len(pool)} are eligible "
                                          "(grade 3/4 within any grade, specific events within the total)",
                                          "check the adverse-event counts"))
    if k == 0:
        return []
    w = 1.0 / (1.0 + 2.0 * load[pool])
    return sorted(rng.choice(pool, size=k, replace=False, p=w / w.sum()).tolist())


def _adverse_events(study: Study, targets: Targets, settings: dict[str, Any], df: pd.DataFrame,
                    rng: np.random.Generator) -> None:
    implies = dict(settings.get("adverse_events", {}).get("implies", {}))
    total = study.ae_total
    grades = list(study.ae_grades)  # ordered mildest first: a later grade implies every earlier one
    events = [e for e, _ in study.adverse_events if e != total]
    events = [e for e in events if e not in implies] + [e for e in events if e in implies]
    for col in study.ae_columns:
        df[col] = 0
    for arm in study.arm_names:
        idx = np.flatnonzero((df[study.arm_column] == arm).to_numpy())
        counts = {c.column: c.n for c in targets.counts if c.arm == arm and c.column.startswith("ae_")}
        load = {g: np.zeros(len(df)) for g in grades}
        for event in ([total] if total else []) + events:
            chosen: list[int] = []
            for g in reversed(grades):  # most severe first, each milder grade contains it
                col = study.ae_column(event, g)
                parent = implies.get(event, total if event != total else None)
                pool = idx if parent is None else idx[df[study.ae_column(parent, g)].to_numpy()[idx] == 1]
                extra_pool = [int(i) for i in pool if i not in chosen]
                k = counts.get(col, 0) - len(chosen)
                picked = _weighted_pick(extra_pool, k, load[g], rng, f"{col}, arm {arm}")
                chosen = sorted(chosen + picked)
                df.loc[df.index[chosen], col] = 1
                if event != total:
                    load[g][chosen] += 1


def baseline_frame(study: Study, targets: Targets, settings: dict[str, Any],
                   rng: np.random.Generator) -> pd.DataFrame:
    """Every pre-treatment and safety column: ids, arms, regimens, covariates, adverse events."""
    df = skeleton(study, targets)
    _categorical(study, targets, df, rng)
    _continuous(study, targets, settings, df, rng)
    _adverse_events(study, targets, settings, df, rng)
    return df
