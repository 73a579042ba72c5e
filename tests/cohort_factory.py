"""A small, valid, deterministic cohort of any study, for tests.

``make_cohort(study, n=40, seed=1)`` builds a DataFrame that passes
:func:`hccbayes.data.validate_cohort`: arms alternate (every arm and every regimen appear when n is
large enough), times are in tenths of a time unit with the implied endpoint's time (PFS) never after
the implying one's (OS), every death is a PFS event, continuous columns scatter around their cut-off
within min/max, and adverse events are coherent (grade 3/4 implies any grade; any specific event
implies the total). ``write_cohort(df, path)`` writes it as the CSV the loader reads.

The values are synthetic (seeded numpy), not the paper's cohort: use them to exercise code paths,
never as reference numbers.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from hccbayes.data.study import Study, load_study

__all__ = ["make_cohort", "write_cohort"]


def _times(rng: np.random.Generator, study: Study, n: int) -> dict[str, np.ndarray]:
    """Time and event columns; an endpoint that ``implies`` another bounds it (time and event)."""
    out: dict[str, np.ndarray] = {}
    implied = {e.implies for e in study.endpoints if e.implies}
    for e in study.endpoints:
        if e.name in implied:
            continue
        t = np.round(rng.exponential(12.0, n) + 0.5, 1)
        d = (rng.random(n) < 0.6).astype(int)
        out[e.time], out[e.event] = t, d
        if e.implies:
            f = study.endpoint(e.implies)
            progressed = (d == 1) | (rng.random(n) < 0.7)
            # progression strictly before death/censoring, or (no progression) censored at the same time
            tf = np.where(progressed, np.floor(t * rng.uniform(0.2, 1.0, n) * 10) / 10, t)
            out[f.time] = np.clip(tf, 0.1, t)
            out[f.event] = progressed.astype(int)
    for e in study.endpoints:  # implied endpoints whose implying endpoint is absent
        if e.time not in out:
            out[e.time] = np.round(rng.exponential(6.0, n) + 0.5, 1)
            out[e.event] = (rng.random(n) < 0.7).astype(int)
    return out


def _continuous(rng: np.random.Generator, lo: float | None, hi: float | None, cutoff: float | None,
                n: int) -> np.ndarray:
    if cutoff is not None and cutoff > 0:
        x = cutoff * np.exp(rng.normal(0.0, 0.6, n))
    elif lo is not None and hi is not None:
        x = rng.normal((lo + hi) / 2, (hi - lo) / 8, n)
    else:
        x = rng.normal(50.0, 10.0, n)
    x = np.round(x, 1)
    if lo is not None or hi is not None:
        x = np.clip(x, lo if lo is not None else -np.inf, hi if hi is not None else np.inf)
    return x


def _adverse_events(rng: np.random.Generator, study: Study, n: int) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    grades = study.ae_grades
    total = study.ae_total
    for event, _ in study.adverse_events:
        if event == total:
            continue
        prev = None
        for g in grades:  # each further grade is a subset of the previous (any -> g34)
            p = 0.25 if prev is None else 0.35
            x = (rng.random(n) < p).astype(int)
            if prev is not None:
                x = x * prev
            out[study.ae_column(event, g)] = x
            prev = x
    if total:
        for gi, g in enumerate(grades):
            specific = [out[study.ae_column(e, g)] for e, _ in study.adverse_events if e != total]
            extra = (rng.random(n) < (0.1 if gi == 0 else 0.0)).astype(int)
            # a higher grade of the total is a subset of its lower grade since each specific one is
            x = np.max(np.vstack(specific + [extra]), axis=0)
            out[study.ae_column(total, g)] = x
    return {c: out[c] for c in study.ae_columns}  # the study's column order


def make_cohort(study: Study | str | Path = "yin2025", n: int = 40, seed: int = 1) -> pd.DataFrame:
    """A valid cohort of ``n`` synthetic patients with the study's columns, reproducible by ``seed``."""
    if not isinstance(study, Study):
        study = load_study(study)
    if n < 1:
        raise ValueError("n must be >= 1")
    rng = np.random.default_rng(seed)
    arms = [study.arm_names[i % len(study.arm_names)] for i in range(n)]
    counters = {a: 0 for a in study.arm_names}
    regimens = []
    for a in arms:
        regs = study.arm(a).regimens
        regimens.append(regs[counters[a] % len(regs)])
        counters[a] += 1
    cols: dict[str, object] = {
        study.id_column: [f"P{i + 1:03d}" for i in range(n)],
        study.arm_column: arms,
        study.regimen_column: regimens,
    }
    cols.update(_times(rng, study, n))
    if study.response is not None:
        cols[study.response.column] = rng.choice(list(study.response.categories), n)
    for c in study.columns:
        if c.type == "continuous":
            cols[c.name] = _continuous(rng, c.min, c.max, c.cutoff, n)
        elif c.type == "categorical":
            cols[c.name] = rng.choice(list(c.levels), n)
        else:
            cols[c.name] = rng.integers(0, 2, n)
    cols.update(_adverse_events(rng, study, n))
    df = pd.DataFrame(cols)
    order = rng.permutation(n)  # arms interleaved irregularly, ids stay unique
    return df.iloc[order].reset_index(drop=True)


def write_cohort(df: pd.DataFrame, path: str | Path) -> Path:
    """Write ``df`` as a comma-separated UTF-8 cohort CSV (no index column); returns the path."""
    path = Path(path)
    df.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
    return path
