"""Guyot et al.'s iterative algorithm on one cleaned curve (BMC Med Res Methodol 2012;12:9).

Between consecutive times of the numbers-at-risk table (an *interval*), patients leave the risk set by an
event — where the digitised curve drops — or by censoring, which the figure does not show. For each
interval, in time order:

1. guess the number censored, ``round(n_start · S(end) / S(start) − n_end)`` (no events ⇒ all losses
   beyond the curve's fall are censorings);
2. spread that many censoring times evenly inside the interval (the paper's assumption);
3. walk the points: at a point ``k`` with ``n_k`` still at risk, the events are
   ``d_k = round(n_k · (1 − S_k / Ŝ_last))`` where ``Ŝ_last`` is the *reconstructed* Kaplan–Meier value
   at the last point with an event (so rounding never accumulates), then
   ``n_{k+1} = n_k − d_k − c_k`` with ``c_k`` the censorings between point ``k`` and the next;
4. compare the patients left at the interval's end with the table and move the censored count by the
   difference; repeat from 2 until they agree — or until a count repeats or would leave [0, n_start]
   (rounding can make the map cycle): the count with the smallest difference is kept and the difference
   recorded in the group's notes. The next interval starts from the patients actually left, so every
   patient of the table's first column is in the output exactly once.

After the last table time the number left is unknown. With the group's **total events** the censored
count of that last stretch is moved, as in step 4, until the events add up to the total. Without it
the **censoring rate per unit time of the earlier intervals is assumed to continue** (no censoring
when the table has only time 0); either way the patients still at risk at the curve's last point are
censored there. Both choices are stated in the notes.

Rounding: ``d_k`` is quantised to 1e-9 before rounding, and an exact half is broken at random — one
coin per point, drawn from the seed and the group's name — so the output is deterministic for a seed and
never hinges on the last floating-point bit.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from hccbayes.data.reconstruction.kmipd.clean import Prepared

__all__ = ["GroupIPD", "reconstruct_group"]

MAX_ITER = 200


@dataclass(frozen=True)
class GroupIPD:
    """The reconstructed patients of one group and how the table was met."""

    name: str
    event_times: np.ndarray
    censor_times: np.ndarray
    notes: tuple[str, ...]

    @property
    def n(self) -> int:
        return len(self.event_times) + len(self.censor_times)


@dataclass(frozen=True)
class _Walk:
    d: np.ndarray  # events per point of the interval
    censored: np.ndarray  # censoring times actually used
    n_end: int  # patients left at the interval's end
    km: float  # reconstructed KM at the last event
    miss: int = 0


def _round(x: float, coin: int) -> int:
    q = round(x, 9)
    f = int(np.floor(q))
    frac = q - f
    return f + (1 if frac > 0.5 else 0 if frac < 0.5 else int(coin))


def _walk(p: Prepared, lo: int, hi: int, a: float, b: float, n0: int, n_censor: int, km: float,
          coins: np.ndarray) -> _Walk:
    """Steps 2–3 for one interval: points lo..hi-1, censorings spread evenly in (a, b)."""
    times = a + (b - a) * np.arange(1, n_censor + 1) / (n_censor + 1)
    pts = p.time[lo:hi]
    bins = np.searchsorted(pts, times, side="right") - 1  # point before each censoring (>= 0: times > a)
    d = np.zeros(hi - lo, dtype=int)
    kept: list[np.ndarray] = []
    n = n0
    for j, k in enumerate(range(lo, hi)):
        if k > 0 and n > 0 and km > 0:
            d[j] = min(max(_round(n * (1.0 - p.survival[k] / km), coins[k]), 0), n)
            km *= 1.0 - d[j] / n
            n -= d[j]
        mine = times[bins == j]
        take = min(len(mine), n)
        kept.append(mine[:take])
        n -= take
    return _Walk(d, np.concatenate(kept) if kept else np.zeros(0), n, km)


def _search(step, guess: int, n0: int) -> _Walk:
    """Step 4: move the censored count by the miss until it is 0, a count repeats or the bounds stop it."""
    tried: dict[int, _Walk] = {}
    count = min(max(guess, 0), n0)
    for _ in range(MAX_ITER):
        tried[count] = step(count)
        miss = tried[count].miss
        nxt = min(max(count + miss, 0), n0)
        if miss == 0 or nxt in tried:
            break
        count = nxt
    best = min(tried, key=lambda c: (abs(tried[c].miss), c))
    return tried[best]


def _with_miss(w: _Walk, miss: int) -> _Walk:
    return _Walk(w.d, w.censored, w.n_end, w.km, miss)


def reconstruct_group(p: Prepared, seed: int = 0) -> GroupIPD:
    """The patients of one prepared group (see the module docstring)."""
    coins = np.random.default_rng([seed, zlib.crc32(p.name.encode())]).integers(0, 2, len(p.time))
    notes = list(p.notes)
    events: list[np.ndarray] = []
    censored: list[np.ndarray] = []
    n, km, m = int(p.n_risk[0]), 1.0, len(p.risk_time)
    for i in range(m - 1):
        lo, hi = int(p.risk_index[i]), int(p.risk_index[i + 1])
        a, b, target = p.risk_time[i], p.risk_time[i + 1], int(p.n_risk[i + 1])
        guess = round(n * p.survival[hi] / p.survival[lo] - target) if p.survival[lo] > 0 else 0

        def step(c, lo=lo, hi=hi, a=a, b=b, n=n, km=km, target=target):
            w = _walk(p, lo, hi, a, b, n, c, km, coins)
            return _with_miss(w, w.n_end - target)

        w = _search(step, guess, n)
        if w.miss:
            notes.append(f"at time {b:g} the table has {target} at risk, the reconstruction {w.n_end} (closest "
                         f"reachable: the curve's drops between {a:g} and {b:g} "
                         f"{'need more' if w.miss < 0 else 'leave more'} patients than the table allows)")
        events.append(np.repeat(p.time[lo:hi], w.d))
        censored.append(w.censored)
        n, km = w.n_end, w.km
    w = _last(p, n, km, coins, sum(len(e) for e in events), sum(len(c) for c in censored), notes)
    events.append(np.repeat(p.time[int(p.risk_index[-1]):], w.d))
    censored += [w.censored, np.full(w.n_end, p.end)]
    return GroupIPD(p.name, np.concatenate(events), np.concatenate(censored), tuple(notes))


def _last(p: Prepared, n: int, km: float, coins: np.ndarray, events_before: int, censored_before: int,
          notes: list[str]) -> _Walk:
    """The stretch after the last table time: total events, or the earlier censoring rate (stated)."""
    lo, a, b = int(p.risk_index[-1]), float(p.risk_time[-1]), p.end
    span = a - float(p.risk_time[0])
    rate = censored_before / span if span > 0 else 0.0
    assumed = min(round(rate * (b - a)), n)

    def step(c):
        w = _walk(p, lo, len(p.time), a, b, n, c, km, coins)
        return _with_miss(w, 0 if p.events is None else int(w.d.sum()) - (p.events - events_before))

    if p.events is None:
        w = step(assumed)
        notes.append(f"no total events given: after the last at-risk time ({a:g}) censoring assumed at the "
                     f"earlier rate ({rate:.4g} per time unit): {len(w.censored)} patients censored evenly up to "
                     f"the curve's end ({b:g}), where the {w.n_end} still at risk are censored")
        return w
    w = _search(step, assumed, n)
    total = events_before + int(w.d.sum())
    notes.append(f"total events {p.events} used for the stretch after time {a:g}: {len(w.censored)} censored "
                 f"in it, {w.n_end} at risk at the curve's end ({b:g}) censored there"
                 + (f"; reconstruction has {total} events (closest reachable)" if total != p.events else ""))
    return w
