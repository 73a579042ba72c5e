"""Cleaning one digitised curve before reconstruction (step 1 of Guyot et al. 2012).

A digitised Kaplan–Meier curve is a cloud of points along a step function, read with some error. The
cleaned curve is a step function the algorithm can walk:

1. times below 0 and survival outside [0, 1] (digitising slack, see :mod:`.inputs`) are clipped; points
   at time 0 are set to survival 1 (every curve starts at (0, 1), which is also added);
2. points are sorted by time (ties: higher survival first, so the curve drops at that time);
3. isolated misreadings are dropped: a point further than ``max(0.01, 5 robust SDs)`` from a first
   monotone fit (isotonic regression, as in 4; the SD from the residuals' median absolute deviation) is a
   slip of the hand, which would otherwise be averaged into its neighbours and smear a step over time;
4. survival is made non-increasing by **isotonic regression** (pool-adjacent-violators,
   ``scipy.optimize.isotonic_regression``): a point read a little above its neighbours is averaged
   with them, rather than every later point being pushed down to the lowest earlier reading as a
   running minimum would (which biases long flat stretches downwards by the reading noise);
5. runs of equal survival are thinned to their first point (and the curve's last point is kept): the
   algorithm places events only where survival drops, so this changes nothing but the work;
6. a point is added at every time of the numbers-at-risk table (survival read off the step function
   just cleaned), so each at-risk interval starts at a point; a table time after the curve's last point
   with patients still at risk extends the curve flat to it (logged), and a table time with nobody at
   risk ends the curve there.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy.optimize import isotonic_regression

from hccbayes.data.reconstruction.kmipd.inputs import GroupInput

log = logging.getLogger(__name__)

__all__ = ["Prepared", "prepare"]

DROP_AFTER_END = 0.01  # survival falling by more than this after the table's "0 at risk" is reported
SPIKE_MIN, SPIKE_SDS = 0.01, 5.0  # a misreading: this far from a first monotone fit (survival units)


@dataclass(frozen=True)
class Prepared:
    """A cleaned curve with its at-risk table aligned: ``risk_index[i]`` is the point at ``risk_time[i]``."""

    name: str
    time: np.ndarray  # sorted, time[0] == 0
    survival: np.ndarray  # non-increasing, survival[0] == 1
    risk_time: np.ndarray
    n_risk: np.ndarray
    risk_index: np.ndarray
    events: int | None
    notes: tuple[str, ...]

    @property
    def end(self) -> float:
        return float(self.time[-1])


def _monotone(g: GroupInput, notes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    t = np.clip(g.time, 0.0, None)
    s = np.clip(g.survival, 0.0, 1.0)
    s[t == 0] = 1.0
    order = np.lexsort((-s, t))
    t, s = t[order], s[order]
    t, s = _drop_spikes(t, s, notes)
    fitted = isotonic_regression(s, increasing=False).x
    moved = int((np.abs(fitted - s) > 1e-12).sum())
    if moved:
        notes.append(f"{moved} of {len(s)} digitised points adjusted (isotonic regression, largest change "
                     f"{np.abs(fitted - s).max():.3f}) to make the curve non-increasing")
    t = np.r_[0.0, t]
    s = np.r_[1.0, np.round(fitted, 12)]  # quantised: nothing downstream hinges on the last bit
    keep = np.r_[True, s[1:] < s[:-1]]
    keep[-1] = True
    return t[keep], s[keep]


def _drop_spikes(t: np.ndarray, s: np.ndarray, notes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Points far from a first monotone fit removed (module docstring, step 3)."""
    resid = s - isotonic_regression(s, increasing=False).x
    mad = float(np.median(np.abs(resid - np.median(resid))))
    limit = max(SPIKE_MIN, SPIKE_SDS * 1.4826 * mad)
    spike = np.abs(resid) > limit
    if spike.any():
        notes.append(f"{int(spike.sum())} isolated point(s) more than {limit:.3f} from a first monotone fit "
                     "dropped as misreadings")
    return t[~spike], s[~spike]


def _step_at(t: np.ndarray, s: np.ndarray, when: float) -> float:
    return float(s[np.searchsorted(t, when, side="right") - 1])


def _align_table(g: GroupInput, t: np.ndarray, s: np.ndarray, notes: list[str]):
    """The at-risk rows the algorithm uses, and the curve truncated / extended to match them."""
    rt, nr = g.risk_time.astype(float), g.n_risk.astype(int)
    zero = np.flatnonzero(nr == 0)
    if len(zero):  # nobody at risk from the first 0 on: the curve ends there at the latest
        z = rt[zero[0]]
        rt, nr = rt[: zero[0] + 1], nr[: zero[0] + 1]
        if z <= t[-1]:
            fall = _step_at(t, s, z) - s[-1]
            if fall > DROP_AFTER_END:
                notes.append(f"the curve falls by {fall:.3f} after time {z:g}, where the table has nobody at "
                             "risk: those points are ignored")
            t, s = t[t <= z], s[t <= z]
        else:  # nobody left at a time after the curve's end: the curve's end says as much
            rt, nr = rt[:-1], nr[:-1]
    if len(rt) and rt[-1] > t[-1]:
        notes.append(f"the curve's last point is at time {t[-1]:g} but {nr[-1]} patients are at risk at "
                     f"{rt[-1]:g}: the curve is extended flat to {rt[-1]:g}")
        t, s = np.r_[t, rt[-1]], np.r_[s, s[-1]]
    new = rt[~np.isin(rt, t)]
    if len(new):
        t_all = np.r_[t, new]
        s_all = np.r_[s, [_step_at(t, s, x) for x in new]]
        order = np.lexsort((-s_all, t_all))
        t, s = t_all[order], s_all[order]
    index = np.searchsorted(t, rt, side="left")  # the first point at each table time
    return t, s, rt, nr, index


def prepare(g: GroupInput) -> Prepared:
    """The cleaned curve of one group with its aligned at-risk table (see the module docstring)."""
    notes: list[str] = []
    if g.scale == "percentage":
        notes.append("survival read as percentages (0–100) and divided by 100")
    t, s = _monotone(g, notes)
    t, s, rt, nr, index = _align_table(g, t, s, notes)
    for note in notes:
        log.info("group '%s': %s", g.name, note)
    return Prepared(g.name, t, s, rt, nr, index, g.events, tuple(notes))
