"""Cut points, intervals and the sufficient statistics of the piecewise-exponential model — plain numpy,
no PyMC: the report and the predictive checks use them without importing the sampler.

A patient's event indicator d_ij and exposure e_ij in interval j = [c_j, c_{j+1}) (c_0 = 0, last interval
open); summed over each covariate pattern × interval they give the model's likelihood exactly
(:mod:`hccbayes.models.survival.piecewise`).
"""
from __future__ import annotations

import numpy as np

from hccbayes.models.survival.arrays import SurvivalData

EVENTS_PER_INTERVAL = 4
MIN_INTERVALS, MAX_INTERVALS = 6, 20


def automatic_n_intervals(events: int) -> int:
    """The default number of PEM intervals: about ``EVENTS_PER_INTERVAL`` events each, between
    ``MIN_INTERVALS`` and ``MAX_INTERVALS``.

    As its intervals shrink the PEM's profile likelihood for the log-HRs tends to Cox's partial likelihood
    (Breslow 1974; exactly so with a cut at every event time), while an interval needs a few events for its
    hazard to be estimated by the data rather than by its prior. Four events per interval gives 13 intervals
    for 51 events (the flagship study's PFS or OS) and 8 for 33; at most 20 keeps the model small
    for large cohorts, at least 6 keeps small subgroups from a one- or two-piece baseline.
    """
    return int(min(MAX_INTERVALS, max(MIN_INTERVALS, round(events / EVENTS_PER_INTERVAL))))


def default_cuts(data: SurvivalData, n_intervals: int | None = None) -> np.ndarray:
    """Interior cut points at the event-time quantiles j/J, de-duplicated; J = ``n_intervals``, or
    :func:`automatic_n_intervals` of the data's events when it is None."""
    if n_intervals is None:
        n_intervals = automatic_n_intervals(data.events)
    times = data.time[data.event > 0]
    times.sort()  # in place; np.quantile on sorted times is faster than its multi-way partition
    if times.size < n_intervals:
        n_intervals = max(1, times.size)
    q = np.quantile(times, np.arange(1, n_intervals) / n_intervals) if n_intervals > 1 else np.array([])
    return np.unique(np.round(q, 6))


def interval_index(time: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """Interval of each time: j with c_j < t ≤ c_{j+1} (c_0 = 0; the last interval is open, times ≤ 0
    fall in the first) — the number of cut points below t, one vectorised comparison per cut (a PEM has
    few cuts; cheaper than a binary search per patient)."""
    which = np.zeros(np.shape(time), dtype=np.int16)
    for c in np.asarray(cuts, float):
        which += time > c
    return which


def interval_stats(time: np.ndarray, event: np.ndarray, cuts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-patient event indicators and exposures by interval: two (n, J) arrays."""
    edges = np.concatenate([[0.0], np.asarray(cuts, float)])
    upper = np.concatenate([edges[1:], [np.inf]])
    exposure = np.clip(np.minimum(time[:, None], upper[None, :]) - edges[None, :], 0.0, None)
    d = np.zeros((time.size, edges.size))
    d[np.arange(time.size), interval_index(time, cuts)] = event
    return d, exposure


def sufficient_stats(data: SurvivalData, cuts: np.ndarray):
    """Events and exposure aggregated by covariate pattern × interval.

    Returns (pattern_X (P, p), pattern_regimen (P,) or None, D (P, J), E (P, J)).
    Each patient adds to one cell, (pattern, interval its time ends in): D counts events there and E
    sums t − c_j; every interval before that cell is covered in full, so E adds its width times the
    number of the pattern's patients whose times end later. Memory is O(n) plus O(P·J).
    """
    patterns = data.patterns
    P = patterns.counts.size
    edges = np.concatenate([[0.0], np.asarray(cuts, float)])
    J = edges.size
    which = interval_index(data.time, cuts)
    cell = patterns.index * J
    cell += which

    def per_cell(weights=None):
        return np.bincount(cell, weights=weights, minlength=P * J).reshape(P, J)

    D = per_cell(data.event)
    ending = per_cell()  # patients whose time ends in each pattern × interval
    ending_later = ending.sum(axis=1, keepdims=True) - ending.cumsum(axis=1)
    partial = edges[which]
    np.subtract(data.time, partial, out=partial)  # t − c_j in the interval where t ends
    E = per_cell(partial) + ending_later * np.append(np.diff(edges), 0.0)
    px = patterns.rows[:, : data.X.shape[1]]
    preg = patterns.rows[:, -1].astype("int64") if data.regimen is not None else None
    return px, preg, D, E

