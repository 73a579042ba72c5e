"""A simulated digitiser for the reconstruction tests: the drawn Kaplan–Meier curve of known patient data,
read back as WebPlotDigitizer's automatic extraction would give it.

:func:`digitise` draws the KM step curve of (time, event) — horizontal and vertical segments from (0, 1)
to the last follow-up time — on a plot of ``axis_max`` time units by survival 0–1, samples points at
equal arc length along it (``spacing`` in plot-width units, e.g. 0.003 ≈ 1.5 pixels of a 500-pixel
plot) with a random start, adds reading noise (normal, ``time_sd`` of the axis width and ``surv_sd``
of the survival axis), lifts ``n_rise`` random points by 0.005–0.02 (slips of the hand: non-monotone
points) and shuffles the rows; ``percent=True`` writes survival in 0–100. The numbers-at-risk table
comes from the true data (:func:`at_risk_table`), as the paper would print it at round times.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from statsmodels.duration.survfunc import SurvfuncRight

__all__ = ["SPACING", "TIME_SD", "at_risk_table", "digitise", "digitise_groups", "events_table", "rebuild",
           "simulate_trial", "time_tolerance"]

SPACING, TIME_SD, SURV_SD = 0.003, 0.001, 0.002  # default reading: ~1.5 px apart, 0.5 px / 1 px noise


def time_tolerance(axis_max: float) -> float:
    """How far in time a step can be read: one point spacing plus 3 SDs of the time reading error."""
    return (SPACING + 3 * TIME_SD) * axis_max


def _vertices(time: np.ndarray, event: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sf = SurvfuncRight(time, event)
    t_ev, s_ev = np.asarray(sf.surv_times, float), np.asarray(sf.surv_prob, float)
    xs, ys, level = [0.0], [1.0], 1.0
    for t, s in zip(t_ev, s_ev):
        xs += [t, t]
        ys += [level, s]
        level = s
    end = float(np.max(time))
    if end > xs[-1]:
        xs.append(end)
        ys.append(level)
    return np.array(xs), np.array(ys)


def digitise(time, event, rng: np.random.Generator, axis_max: float, spacing: float = SPACING,
             time_sd: float = TIME_SD, surv_sd: float = SURV_SD, n_rise: int = 3, percent: bool = False,
             group: str = "A") -> pd.DataFrame:
    """Digitised points (group, time, survival) of the KM curve of ``time``/``event`` (module docstring)."""
    xs, ys = _vertices(np.asarray(time, float), np.asarray(event, float))
    u = xs / axis_max  # plot units: both axes 0-1
    seg = np.hypot(np.diff(u), np.diff(ys))
    cum = np.r_[0.0, np.cumsum(seg)]
    at = np.r_[np.arange(rng.uniform(0, spacing), cum[-1], spacing), cum[-1]]
    k = np.clip(np.searchsorted(cum, at, side="right") - 1, 0, len(seg) - 1)
    frac = np.where(seg[k] > 0, (at - cum[k]) / np.where(seg[k] > 0, seg[k], 1.0), 0.0)
    x = u[k] + frac * (u[k + 1] - u[k]) + rng.normal(0.0, time_sd, len(at))
    y = ys[k] + frac * (ys[k + 1] - ys[k]) + rng.normal(0.0, surv_sd, len(at))
    lift = rng.choice(len(at), size=min(n_rise, len(at)), replace=False)
    y[lift] += rng.uniform(0.005, 0.02, len(lift))
    order = rng.permutation(len(at))
    scale = 100.0 if percent else 1.0
    return pd.DataFrame({"group": group, "time": np.round(x[order] * axis_max, 4),
                         "survival": np.round(y[order] * scale, 5)})


def at_risk_table(df: pd.DataFrame, times, group: str = "arm") -> pd.DataFrame:
    """group, time, n_risk (patients with time >= t), as printed under a KM figure."""
    rows = [{"group": g, "time": float(t), "n_risk": int((sub["time"] >= t).sum())}
            for g, sub in df.groupby(group, sort=False) for t in times]
    return pd.DataFrame(rows)


def events_table(df: pd.DataFrame, group: str = "arm") -> pd.DataFrame:
    return df.groupby(group, sort=False)["event"].sum().rename("events").reset_index() \
        .rename(columns={group: "group"})


def digitise_groups(df: pd.DataFrame, rng: np.random.Generator, axis_max: float, group: str = "arm",
                    percent_groups: tuple[str, ...] = (), **kw) -> pd.DataFrame:
    """:func:`digitise` of each group's curve, stacked (``percent_groups`` written in 0-100)."""
    parts = [digitise(sub["time"], sub["event"], rng, axis_max, group=g, percent=g in percent_groups, **kw)
             for g, sub in df.groupby(group, sort=False)]
    return pd.concat(parts, ignore_index=True)


def simulate_trial(rng: np.random.Generator, n: int, hr: float, median0: float, shape: float = 1.0,
                   follow_up: tuple[float, float] = (24.0, 60.0), dropout: float = 0.0, cure: float = 0.0,
                   arms: tuple[str, str] = ("control", "treated")) -> pd.DataFrame:
    """Two arms of ``n`` patients: Weibull times (``shape``; control median ``median0``; proportional hazards
    with hazard ratio ``hr``), a cured fraction ``cure`` that never has the event, administrative
    censoring uniform over ``follow_up`` (staggered entry) and exponential dropout at rate ``dropout``
    (per time unit). Times rounded to 0.01."""
    scale0 = median0 / np.log(2.0) ** (1.0 / shape)
    parts = []
    for arm, ratio in zip(arms, (1.0, hr)):
        t = scale0 * (-np.log(rng.uniform(size=n)) / ratio) ** (1.0 / shape)
        t = np.where(rng.uniform(size=n) < cure, np.inf, t)
        c = rng.uniform(*follow_up, size=n)
        if dropout > 0:
            c = np.minimum(c, rng.exponential(1.0 / dropout, size=n))
        time = np.maximum(np.round(np.minimum(t, c), 2), 0.01)
        parts.append(pd.DataFrame({"arm": arm, "time": time, "event": (t <= c).astype(int)}))
    return pd.concat(parts, ignore_index=True)


def rebuild(true: pd.DataFrame, axis_max: float, at_risk: pd.DataFrame, events: pd.DataFrame | None, seed: int):
    """Digitise ``true`` (arm, time, event; the second arm in percent) with ``seed`` and reconstruct it
    from the points, ``at_risk`` and ``events``; returns (reconstruction, its patients as arm/time/event)."""
    from hccbayes.data.reconstruction.kmipd import ipd_from_km

    arms = list(dict.fromkeys(true["arm"]))
    curves = digitise_groups(true, np.random.default_rng(seed), axis_max, percent_groups=(arms[1],))
    rec = ipd_from_km(curves, at_risk, events)
    return rec, rec.ipd.rename(columns={"group": "arm"})
