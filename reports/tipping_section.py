"""Tipping points in the report: for every analysis of the run with ``tipping_point`` rows, a sentence
built from those rows (the prior at which P(HR < 1) crosses 0.95 and 0.5) and a figure of the search's
evaluated points (``tipping/<analysis>.json`` of the run, :mod:`hccbayes.inference.sensitivity.tipping_run`).

Directions stated in the sentences follow from how the probability moves: P(HR < 1) falls as the prior
centre moves towards harm (larger HR), and under a skeptical prior centred on HR 1 it falls towards 0.5 as
the prior gets stronger (a larger MCID encoded, i.e. a narrower prior) when the data favour benefit.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure as MplFigure

from hccbayes.reports.document import Figure, Heading, Para, comparison_title
from hccbayes.reports.figures import OKABE_ITO, plain_log_axis
from hccbayes.reports.numbers import fmt, fmt_interval, model_label, prob_relation

PARAMETERS = {"prior_mean": "prior centre (HR)", "skeptical_mcid": "MCID encoded by the skeptical prior"}


def _value(rows: pd.DataFrame, kind: str, target: float) -> pd.Series | None:
    sel = rows[rows["note"].str.startswith("prior centre" if kind == "prior_mean" else "MCID")
               & np.isclose(rows["threshold"], target)]
    return sel.iloc[0] if len(sel) else None


def _current_probability(table: pd.DataFrame, r: pd.Series) -> str:
    p = table[(table["analysis"] == r["analysis"]) & (table["source"] == r["source"]) & (table["quantity"] == "hr")
              & (table["direction"] == "<") & np.isclose(table["threshold"].astype(float), 1.0)]
    return prob_relation(p["probability"].iloc[0]) if len(p) else ""


def _crossing(r: pd.Series | None) -> tuple[str, str]:
    """(value, '(Monte Carlo interval a–b)') of one tipping row, or ('', '') when not crossed."""
    if r is None or not math.isfinite(r["estimate"]):
        return "", ""
    ci = f" (Monte Carlo {fmt_interval(r['lower'], r['upper'], 'ratio')})" if math.isfinite(r["lower"]) else ""
    return fmt(r["estimate"], "ratio"), ci


def tipping_sentence(table: pd.DataFrame, rows: pd.DataFrame) -> str:
    """One paragraph per analysis, every number from its ``tipping_point`` rows and the P(HR < 1) row."""
    first = rows.iloc[0]
    hi, lo = (fmt(t, "real") for t in (0.95, 0.5))
    model, prior = model_label(first["model"]), str(first["prior_set"]).replace("_", " ")
    now = _current_probability(table, first)
    parts = [f"{comparison_title(first)}, {model} model from the {prior} prior"
             + (f" (P(HR < {fmt(1.0, 'real')}) {now})" if now else "") + ":"]
    m95, ci95 = _crossing(_value(rows, "prior_mean", 0.95))
    m50, ci50 = _crossing(_value(rows, "prior_mean", 0.5))
    if m95:
        parts.append(f"with the treatment log-HR prior replaced by a normal prior of the skeptical set's spread "
                     f"centred at HR m, "
                     f"P(HR < {fmt(1.0, 'real')}) stays at or above {hi} for m up to {m95}{ci95}")
        parts.append(f"and above {lo} for m up to {m50}{ci50};" if m50 else "; it stays above "
                     f"{lo} over the whole search range;")
    else:
        parts.append(f"no prior centre in the searched range moves P(HR < {fmt(1.0, 'real')}) across {hi};")
    s95, cs95 = _crossing(_value(rows, "skeptical_mcid", 0.95))
    if s95:
        parts.append(f"a skeptical prior centred on HR {fmt(1.0, 'real')} keeps it at or above {hi} only while "
                     f"it encodes an MCID up to {s95}{cs95} (a larger MCID is a narrower, stronger prior).")
    else:
        parts.append(f"no skeptical prior centred on HR {fmt(1.0, 'real')} takes it across {hi} in the searched "
                     "range of strengths.")
    return " ".join(parts)


def tipping_figure(stored: dict, title: str) -> MplFigure:
    """Left: P(HR < 1) against the prior centre (HR, log axis); right: against the MCID the skeptical prior
    encodes. Dots: the refits of the searches (both targets share them), as one curve per parameter; dashed
    lines: the targets; dotted lines: the tipping points."""
    fig = MplFigure(figsize=(7.2, 3.0), layout="constrained")
    axes = dict(zip(PARAMETERS, fig.subplots(1, 2, sharey=True)))
    curves: dict[str, dict[float, float]] = {}  # the searches of one parameter share their refits
    for search in stored.get("points", []):
        if search["parameter"] not in axes:
            continue
        curves.setdefault(search["parameter"], {}).update((float(x), float(p)) for x, p in search["points"])
        if search["value"] is not None and math.isfinite(search["value"]):
            to_hr = math.exp if search["parameter"] == "prior_mean" else float
            axes[search["parameter"]].axvline(to_hr(search["value"]), color=OKABE_ITO[5], lw=0.9, ls=":",
                                              gid=f"tipping:value:{search['parameter']}:{search['target']:g}")
    for name, points in curves.items():
        xs, ps = np.array(sorted(points.items()), float).T
        axes[name].plot(np.exp(xs) if name == "prior_mean" else xs, ps, "o-", color=OKABE_ITO[4], ms=4, lw=1,
                        gid=f"tipping:{name}")
    for name, ax in axes.items():
        for t in (0.95, 0.5):
            ax.axhline(t, color="grey", lw=0.8, ls="--")
        ax.set_xlabel(PARAMETERS[name])
        ax.grid(alpha=0.3)
    axes["prior_mean"].set_xscale("log")
    plain_log_axis(axes["prior_mean"].xaxis)
    axes["prior_mean"].set_ylabel("P(HR < 1)")
    axes["prior_mean"].set_ylim(0, 1)
    fig.suptitle(title, fontsize=10)
    return fig


def tipping_blocks(run) -> list:
    t = run.table
    tip = t[t["quantity"] == "tipping_point"]
    if tip.empty:
        return []
    blocks = [Heading("Tipping points", "tipping", 3),
              Para("How far the prior would have to move before the conclusion changes: each search refits the "
                   "compiled model under a changed prior for the treatment contrast (other priors as in the "
                   "starting prior set) until P(HR < 1) crosses the target; every refit goes through the "
                   "diagnostics gate like any fit (refitted once when it fails; a search with a refit that still "
                   "fails is marked FAILED). The intervals are Monte Carlo uncertainty of the crossing, not "
                   "posterior intervals.")]
    for analysis, rows in tip.groupby("analysis", sort=False):
        blocks.append(Para(tipping_sentence(t, rows), "sentence"))
        stored = run.tipping.get(analysis)
        if stored:
            title = f"{comparison_title(rows.iloc[0])}: tipping points"
            blocks.append(Figure(f"tipping_{analysis}", f"{title}. P(HR < 1) at each refit of the search against "
                                 "the prior centre (left) and the MCID a skeptical prior encodes (right); dashed: "
                                 "the targets; dotted: the tipping points.", tipping_figure(stored, title)))
    return blocks
