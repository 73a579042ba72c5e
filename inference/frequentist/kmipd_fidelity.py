"""How faithful patient data reconstructed from Kaplan–Meier curves are to what was digitised.

The check recomputes, with the project's frequentist Kaplan–Meier estimator
(:func:`hccbayes.inference.frequentist.survival.km_at_times`), the survival of the reconstructed patients at
every point of each cleaned digitised curve and the numbers at risk at every time of the table, and
sets them beside the inputs. :func:`fidelity_table` has the columns of a reconstruction's
fidelity table (:mod:`hccbayes.inference.frequentist.fidelity`: target, kind, published, reconstructed,
tolerance, passed, source), one block per group:

* ``n.<group>`` (hard, exact): patients reconstructed = the table's number at time 0 — by construction;
* ``km.<group>`` (soft): the largest |S_reconstructed(t) − S_digitised(t)| over the cleaned points;
  tolerance 0.02, or half a step of the reconstructed curve where that is larger (with ``n`` at risk a
  whole number of events can come no closer than ``S(t−) / 2n``; 0.02 is that at 25 at risk);
* ``at_risk.<group>@<time>`` (soft): the reconstructed number at risk (time >= t, as printed under a KM
  figure) vs the table, within max(1, 2%): a noisy curve can fall by more within an interval than the
  table's numbers allow, which the algorithm cannot mend (its notes say where);
* ``events.<group>`` (soft, when the total events were given): within max(1, 1%) of the total, for
  the same reason (events before the last table time come from the curve's drops alone).

:func:`figure_data` is what the check figure (:func:`hccbayes.reports.kmipd_figure.reconstruction_figure`)
draws, as one long frame.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from hccbayes.data.cohort import load_cohort
from hccbayes.data.reconstruction.kmipd.reconstruct import Reconstruction
from hccbayes.data.reconstruction.kmipd.study_source import cohort_as_ipd, reconstruct_study
from hccbayes.inference.frequentist import fidelity as summaries
from hccbayes.inference.frequentist.fidelity import COLUMNS, row
from hccbayes.inference.frequentist.survival import km_at_times, km_table

__all__ = ["KM_TOLERANCE", "curve_differences", "fidelity_table", "figure_data", "study_fidelity",
           "summary_line"]

KM_TOLERANCE = 0.02


def _allowed(table: int, share: float) -> int:
    return max(1, int(np.floor(share * table)))


def curve_differences(rec: Reconstruction, ipd: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per cleaned digitised point: group, time, digitised, reconstructed (KM of ``ipd``, default
    the reconstruction's own), n_risk, diff (reconstructed − digitised) and its tolerance."""
    ipd = rec.ipd if ipd is None else ipd
    parts = []
    for g, p in rec.prepared.items():
        mine = ipd[ipd["group"] == g]
        km = km_at_times(mine, "time", "event", p.time)
        surv, n_risk = km["surv"].to_numpy(), km["n_risk"].to_numpy()
        before = km_at_times(mine, "time", "event", np.nextafter(p.time, -np.inf))["surv"].to_numpy()
        half_step = np.divide(before, 2 * n_risk, out=np.zeros_like(surv), where=n_risk > 0)
        parts.append(pd.DataFrame({"group": g, "time": p.time, "digitised": p.survival, "reconstructed": surv,
                                   "n_risk": n_risk, "diff": surv - p.survival,
                                   "tolerance": np.maximum(KM_TOLERANCE, half_step)}))
    return pd.concat(parts, ignore_index=True)


def figure_data(rec: Reconstruction, ipd: pd.DataFrame | None = None) -> pd.DataFrame:
    """The reconstruction check figure's data, per group (in the reconstruction's order), in rows of columns
    part, group, time, value, table: ``digitised`` points and the ``cleaned`` curve (value = S), the
    Kaplan–Meier steps of ``ipd`` (default the reconstruction's own patients) from (0, 1) to its last time
    (``km``, value = S), the numbers at risk at the table's times (``at_risk``: value = ``ipd``'s, table = the
    table's) and the largest |ΔS| of :func:`curve_differences` (``max_abs_diff``, value)."""
    ipd = rec.ipd if ipd is None else ipd
    diffs = curve_differences(rec, ipd)
    parts = []
    for g, p in rec.prepared.items():
        mine = ipd[ipd["group"] == g]
        times = mine["time"].to_numpy(float)
        km = km_table(times, mine["event"].to_numpy(float))
        steps = km[km["events"] > 0]
        x, y = np.r_[0.0, steps["time"]], np.r_[1.0, steps["survival"]]
        n_rebuilt = [int((times >= t).sum()) for t in p.risk_time]
        for part, time, value, table in (
                ("digitised", rec.inputs[g].time, rec.inputs[g].survival, np.nan),
                ("cleaned", p.time, p.survival, np.nan),
                ("km", np.r_[x, times.max()], np.r_[y, y[-1]], np.nan),
                ("at_risk", p.risk_time, n_rebuilt, p.n_risk),
                ("max_abs_diff", [np.nan], diffs.loc[diffs["group"] == g, "diff"].abs().max(), np.nan)):
            parts.append(pd.DataFrame({"part": part, "group": g, "time": time, "value": value, "table": table}))
    return pd.concat(parts, ignore_index=True)


def fidelity_table(rec: Reconstruction, ipd: pd.DataFrame | None = None) -> pd.DataFrame:
    """The fidelity table of ``ipd`` (default: the reconstruction's own patients; columns group, time,
    event) against the digitised curves and the table of ``rec`` (see the module docstring)."""
    ipd = rec.ipd if ipd is None else ipd
    src = rec.sources
    diffs = curve_differences(rec, ipd)
    rows: list[dict] = []
    for g, p in rec.prepared.items():
        mine = ipd[ipd["group"] == g]
        n0 = int(p.n_risk[0])
        row(rows, f"n.{g}", "hard", n0, len(mine), "exact", len(mine) == n0, src["at_risk"])
        d = diffs[diffs["group"] == g]
        worst = int(np.argmax(np.abs(d["diff"].to_numpy())))
        over = int((np.abs(d["diff"]) > d["tolerance"] + 1e-12).sum())
        row(rows, f"km.{g}", "soft", f"cleaned digitised curve ({len(d)} points)",
             f"max |ΔS| {abs(d['diff'].iloc[worst]):.4f} at t = {d['time'].iloc[worst]:g}",
             f"|ΔS| <= {KM_TOLERANCE:g} (or half a step)", over == 0, src["curves"])
        km = km_at_times(mine, "time", "event", p.risk_time)
        got = km["n_risk"].to_numpy()
        for t, table, n in zip(p.risk_time, p.n_risk, got):
            allowed = _allowed(int(table), 0.02)
            row(rows, f"at_risk.{g}@{t:g}", "soft", int(table), int(n), f"±{allowed}",
                 abs(int(n) - int(table)) <= allowed, src["at_risk"])
        if p.events is not None:
            events = int(mine["event"].sum())
            allowed = _allowed(p.events, 0.01)
            row(rows, f"events.{g}", "soft", p.events, events, f"±{allowed}",
                 abs(events - p.events) <= allowed, src.get("events", ""))
    return pd.DataFrame(rows, columns=COLUMNS)


def summary_line(table: pd.DataFrame) -> str:
    """'hard targets X/Y, soft targets X/Y (max |ΔS| per group)'."""
    km = table[table["target"].str.startswith("km.")]
    worst = "; ".join(f"{t[3:]}: {r.split(' at ')[0].replace('max ', '')}" for t, r in
                      zip(km["target"], km["reconstructed"]))
    return summaries.summary_line(table) + (f" ({worst})" if worst else "")


def study_fidelity(study, cohort: str | Path | None = None) -> pd.DataFrame:
    """The fidelity table of a curve study's cohort file (default its cohort.csv) against the curves and
    table its ``study.toml`` declares (:mod:`hccbayes.data.reconstruction.kmipd.study_source`)."""

    rec, _ = reconstruct_study(study)
    df = load_cohort(Path(cohort) if cohort is not None else study.cohort_path, study)
    return fidelity_table(rec, cohort_as_ipd(df, study))
