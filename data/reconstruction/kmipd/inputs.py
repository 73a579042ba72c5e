"""Reading the three inputs of a reconstruction from published Kaplan–Meier curves.

* ``CURVES.csv`` — ``group,time,survival``: the digitised points of each curve (WebPlotDigitizer or
  similar), in any order; survival as a proportion (0–1) or a percentage (0–100), detected per group
  and logged; small digitising noise (a point a little above the previous one, a time a little below
  0, a survival a little above 1 or below 0) is expected and cleaned later (:mod:`.clean`).
* ``RISK.csv`` — ``group,time,n_risk``: the numbers-at-risk table printed under the figure; it must
  start at time 0 (the number randomised) and never rise.
* ``EVENTS.csv`` (optional) — ``group,events``: the total number of events per group, when the paper
  states it (used for the last interval, after the last number at risk).

Every problem of a file is reported at once as a :class:`CurveError` whose lines name the file, the data
row (1-based, header excluded, as for cohort files), the column and the fix. Files may also be given as
DataFrames (the Python API); rows are then numbered from 1 in frame order.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from hccbayes.errors import InputError, Problem

log = logging.getLogger(__name__)

__all__ = ["CurveError", "GroupInput", "read_inputs"]

# survival values are read as percentages when a group's largest value exceeds this
PERCENT_ABOVE = 1.5
# digitising slack: survival this far outside [0, 1] (as a proportion) is noise and clipped; beyond, an error
SURVIVAL_SLACK = 0.02
# a rise of the digitised survival by more than this above the lowest earlier point is not noise
RISE_LIMIT = 0.10
RISE_WINDOW = 0.01  # ... compared with points read more than this fraction of the time axis earlier

Source = str | Path | pd.DataFrame


class CurveError(InputError):
    """A digitised-curve, numbers-at-risk or events file is unusable (every problem listed)."""


@dataclass(frozen=True)
class GroupInput:
    """One curve's raw inputs, as read: digitised points (proportions), its at-risk table, its events."""

    name: str
    time: np.ndarray  # digitised times, file order
    survival: np.ndarray  # proportions, file order (not yet cleaned)
    risk_time: np.ndarray  # sorted, starts at 0
    n_risk: np.ndarray  # int, non-increasing
    events: int | None
    scale: str  # "proportion" or "percentage"


def _table(source: Source, columns: tuple[str, ...], label: str, problems: list[Problem]
           ) -> tuple[str, pd.DataFrame | None, list[int]]:
    """(file name, frame of stripped strings with ``columns``, data-row numbers) or None on a problem."""
    if isinstance(source, pd.DataFrame):
        fname, raw = f"<{label} DataFrame>", source.astype(str).rename(columns=str)
    else:
        fname = str(source)
        path = Path(source)
        if not path.is_file():
            problems.append(Problem(fname, "file not found", f"give the path of the {label} CSV file"))
            return fname, None, []
        try:
            raw = pd.read_csv(path, dtype=str, keep_default_na=False, skip_blank_lines=False,
                              encoding="utf-8-sig")
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
            problems.append(Problem(fname, f"not a readable CSV file ({type(err).__name__}: {err})",
                                    f"save it as comma-separated UTF-8 text with the header {','.join(columns)}"))
            return fname, None, []
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    missing = [c for c in columns if c not in raw.columns]
    if missing:
        problems.append(Problem(fname, f"missing column(s) {', '.join(missing)} (header: "
                                f"{', '.join(raw.columns) or 'none'})",
                                f"write the header line {','.join(columns)} (one {label} row per line)"))
        return fname, None, []
    frame = raw[list(columns)].apply(lambda s: s.str.strip())
    rows = list(range(1, len(frame) + 1))
    keep = (frame != "").any(axis=1).to_numpy()  # blank lines are skipped but keep their number
    frame = frame.loc[keep].reset_index(drop=True)
    rows = [r for r, k in zip(rows, keep) if k]
    if not len(frame):
        problems.append(Problem(fname, "no data rows", f"add one {label} row per line below the header"))
        return fname, None, []
    return fname, frame, rows


def _numbers(frame: pd.DataFrame, rows: list[int], fname: str, column: str, problems: list[Problem],
             integer: bool = False) -> np.ndarray:
    """The column as floats (NaN where invalid; each invalid cell is a problem)."""
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    what = "a whole number >= 0" if integer else "a finite number"
    for i, (text, x) in enumerate(zip(frame[column], values)):
        bad = not np.isfinite(x) or (integer and (x < 0 or x != np.floor(x)))
        if bad:
            problems.append(Problem(fname, f"'{text}' is not {what}", f"write {what}", row=rows[i], column=column))
            values[i] = np.nan
    return values


def _groups(frame: pd.DataFrame, rows: list[int], fname: str, problems: list[Problem]) -> np.ndarray:
    groups = frame["group"].to_numpy(dtype=object)
    for i in np.flatnonzero(groups == ""):
        problems.append(Problem(fname, "empty group name", "name the curve this row belongs to", row=rows[i],
                                column="group"))
    return groups


def _curves(source: Source, problems: list[Problem]) -> tuple[str, dict[str, tuple]]:
    fname, frame, rows = _table(source, ("group", "time", "survival"), "digitised curve", problems)
    if frame is None:
        return fname, {}
    groups = _groups(frame, rows, fname, problems)
    t = _numbers(frame, rows, fname, "time", problems)
    s = _numbers(frame, rows, fname, "survival", problems)
    out = {}
    for g in dict.fromkeys(groups):
        if g == "":
            continue
        idx = np.flatnonzero((groups == g) & np.isfinite(t) & np.isfinite(s))
        out[g] = _scaled(g, t[idx], s[idx], [rows[i] for i in idx], fname, problems)
    return fname, out


def _scaled(group: str, t: np.ndarray, s: np.ndarray, rows: list[int], fname: str, problems: list[Problem]):
    """Survival as proportions (percentages detected per group), with range and time checks."""
    scale, factor = ("percentage", 100.0) if len(s) and s.max() > PERCENT_ABOVE else ("proportion", 1.0)
    if scale == "percentage":
        log.info("%s: group '%s': survival read as percentages (largest value %g) and divided by 100",
                 fname, group, s.max())
    p = s / factor
    t_span = max(float(t.max()) if len(t) else 0.0, 1e-12)
    for i in np.flatnonzero((p < -SURVIVAL_SLACK) | (p > 1 + SURVIVAL_SLACK)):
        lo, hi = (0, 100) if scale == "percentage" else (0, 1)
        problems.append(Problem(fname, f"group '{group}': survival {s[i]:g} is outside {lo}–{hi} (values of "
                                f"this group are read as {scale}s)", "re-read the point from the figure, or "
                                "check that the curve's survival axis is calibrated", row=rows[i], column="survival"))
    for i in np.flatnonzero(t < -SURVIVAL_SLACK * t_span):
        problems.append(Problem(fname, f"group '{group}': time {t[i]:g} is negative", "re-read the point "
                                "(times start at 0), or check the time axis calibration", row=rows[i], column="time"))
    if len(t) and t.max() <= 0:
        problems.append(Problem(fname, f"group '{group}': every digitised point is at time 0",
                                "digitise the whole curve, from time 0 to its last point", row=rows[0], column="time"))
    rise, i = _largest_rise(t, p, RISE_WINDOW * t_span)
    if rise > RISE_LIMIT:
        problems.append(Problem(fname, f"group '{group}': survival rises to {s[i]:g} at time {t[i]:g}, "
                                f"{rise:.2f} above a point read earlier — more than digitising noise",
                                "check that every point of this group belongs to the same curve (two curves "
                                "mixed, or a mislabelled group?)", row=rows[i], column="survival"))
    return t, p, scale


def _largest_rise(t: np.ndarray, p: np.ndarray, window: float) -> tuple[float, int]:
    """The largest amount by which a point lies above the lowest point read more than ``window`` time
    units before it (points on one vertical drop of the curve scatter in time by the reading noise),
    and that point's index."""
    if not len(t):
        return 0.0, 0
    order = np.argsort(t, kind="stable")
    lowest = np.minimum.accumulate(p[order])
    before = np.searchsorted(t[order], t[order] - window, side="left") - 1  # last point > window earlier
    floor = np.where(before >= 0, lowest[np.maximum(before, 0)], np.inf)
    rise = p[order] - floor
    j = int(np.argmax(rise))
    return float(max(rise[j], 0.0)), int(order[j])


def _at_risk(source: Source, problems: list[Problem]) -> tuple[str, dict[str, tuple]]:
    fname, frame, rows = _table(source, ("group", "time", "n_risk"), "numbers-at-risk", problems)
    if frame is None:
        return fname, {}
    groups = _groups(frame, rows, fname, problems)
    t = _numbers(frame, rows, fname, "time", problems)
    n = _numbers(frame, rows, fname, "n_risk", problems, integer=True)
    out = {}
    for g in dict.fromkeys(groups):
        if g == "":
            continue
        idx = np.flatnonzero(groups == g)
        idx = idx[np.argsort(t[idx], kind="stable")]
        ok = np.isfinite(t[idx]) & np.isfinite(n[idx])
        tg, ng, rg = t[idx][ok], n[idx][ok], [rows[i] for i in idx[ok]]
        if not len(tg) or tg[0] != 0:
            problems.append(Problem(fname, f"group '{g}' has no number at risk at time 0",
                                    f"add the row {g},0,<patients randomised> (the first column of the table)"))
        for j in range(1, len(tg)):
            if tg[j] == tg[j - 1]:
                problems.append(Problem(fname, f"group '{g}': time {tg[j]:g} appears twice", "keep one row per "
                                        "time", row=rg[j], column="time"))
            elif ng[j] > ng[j - 1]:
                problems.append(Problem(fname, f"group '{g}': the number at risk rises from {ng[j - 1]:g} "
                                        f"(time {tg[j - 1]:g}) to {ng[j]:g} (time {tg[j]:g})",
                                        "numbers at risk never rise: re-read the table (is a row in the wrong "
                                        "group, or a digit misread?)", row=rg[j], column="n_risk"))
        out[g] = (tg, ng.astype(int), rg)
    return fname, out


def _events(source: Source | None, problems: list[Problem]) -> tuple[str, dict[str, tuple[int, int]]]:
    if source is None:
        return "", {}
    fname, frame, rows = _table(source, ("group", "events"), "total-events", problems)
    if frame is None:
        return fname, {}
    groups = _groups(frame, rows, fname, problems)
    e = _numbers(frame, rows, fname, "events", problems, integer=True)
    out: dict[str, tuple[int, int]] = {}
    for i, g in enumerate(groups):
        if g in out:
            problems.append(Problem(fname, f"group '{g}' appears twice", "keep one row per group", row=rows[i]))
        elif g and np.isfinite(e[i]):
            out[g] = (int(e[i]), rows[i])
    return fname, out


def _cross_check(names: dict[str, str], curves: dict, risk: dict, events: dict, problems: list[Problem]) -> None:
    for here, there, fname, other in ((curves, risk, names["curves"], names["risk"]),
                                      (risk, curves, names["risk"], names["curves"]),
                                      (events, risk, names["events"], names["risk"])):
        for g in here:
            if g not in there:
                known = ", ".join(f"'{x}'" for x in there) or "none"
                problems.append(Problem(fname, f"group '{g}' is not in {other} (its groups: {known})",
                                        f"spell the group as in {other}, or add its rows there"))
    for g, (total, row) in events.items():
        if g in risk and len(risk[g][1]) and total > risk[g][1][0]:
            problems.append(Problem(names["events"], f"group '{g}': {total} events but {risk[g][1][0]} patients "
                                    f"at risk at time 0", "the total events cannot exceed the patients: "
                                    "re-read both numbers", row=row, column="events"))


def read_inputs(curves: Source, at_risk: Source, events: Source | None = None) -> tuple[GroupInput, ...]:
    """The validated inputs, one :class:`GroupInput` per group (in the at-risk table's order); raises
    :class:`CurveError` listing every problem of every file."""
    problems: list[Problem] = []
    f_curves, cur = _curves(curves, problems)
    f_risk, risk = _at_risk(at_risk, problems)
    f_events, ev = _events(events, problems)
    if not problems:
        _cross_check({"curves": f_curves, "risk": f_risk, "events": f_events}, cur, risk, ev, problems)
    if problems:
        n = len(problems)
        raise CurveError(problems, summary=f"{n} problem{'s' if n != 1 else ''} in the Kaplan–Meier inputs "
                         "(rows are data rows, header excluded)")
    out = []
    for g, (tr, nr, _) in risk.items():
        t, p, scale = cur[g]
        out.append(GroupInput(g, t, p, tr, nr, ev[g][0] if g in ev else None, scale))
    return tuple(out)
