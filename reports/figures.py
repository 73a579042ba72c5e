"""Survival and forest figures as matplotlib ``Figure`` objects (no pyplot, no global state).

* :func:`survival_figure`: Kaplan–Meier step curves per arm of the fitted patients with the posterior
  median and 95% band of the standardised survival curve of each model and the numbers at risk per arm
  below the axis, all as the run stored them (``km.csv`` and ``curves.csv``,
  :mod:`hccbayes.inference.engine.curves`). One figure per survival analysis; bands of the plan's primary
  prior set.
* :func:`forest_figure`: the hazard ratios of one published table and endpoint, one row per published
  HR: published 95% CI, Cox 95% CI on the cohort (when the table has it) and the posterior 95% CrI of
  the primary prior set; log axis.

Colours: the Okabe–Ito palette (colour-blind safe); artists carry ``gid`` labels the tests count.
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from hccbayes.models.priors.values import CI_PROB
from hccbayes.models.survival.families import FAMILIES
from hccbayes.reports.numbers import base_quantity, model_label
from hccbayes.reports.term_priors import prior_of

log = logging.getLogger(__name__)

OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000")
ARM_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00")  # reference arm first (Okabe–Ito)
SOURCE_COLOURS = {"published": "#000000", "frequentist": "#E69F00", "bayes": "#0072B2"}
MODEL_STYLES = dict(zip(FAMILIES, ("--", ":", "-.", (0, (5, 1, 1, 1)))))  # line style of each survival family
BAND_ALPHA = 0.18


def at_risk(km: pd.DataFrame, ticks: np.ndarray) -> list[int]:
    """Numbers at risk (time >= t) at ``ticks`` from a Kaplan–Meier table (time, events, censored)."""
    time = km["time"].to_numpy(float)
    left = (km["events"] + km["censored"]).to_numpy(int)
    return [int(left[time >= t].sum()) for t in ticks]


def survival_figure(curves: dict[str, pd.DataFrame], km: pd.DataFrame, arm_names: tuple[str, str],
                    endpoint_label: str, time_unit: str = "months") -> Figure:
    """``curves``: model name -> its posterior bands (rows of ``curves.csv``: level, time, lower, median,
    upper; e.g. Weibull and PEM under one prior set); ``km``: the Kaplan–Meier tables of the same patients
    (rows of ``km.csv``: level, time, n_risk, events, censored, survival); ``arm_names``: labels of levels
    0, 1 (, 2, ...: a trial with more arms)."""
    t_max = float(np.ceil(km["time"].max()))
    fig = Figure(figsize=(7.2, 5.4), layout="constrained")
    gs = fig.add_gridspec(2, 1, height_ratios=(4, 1))
    ax = fig.add_subplot(gs[0])
    ax_risk = fig.add_subplot(gs[1], sharex=ax)
    tables = [km[km["level"] == level] for level in range(len(arm_names))]
    for k, name, colour in zip(tables, arm_names, ARM_COLOURS):
        steps = k[k["events"] > 0]
        x, y = np.r_[0.0, steps["time"].to_numpy(float)], np.r_[1.0, steps["survival"].to_numpy(float)]
        ax.step(x, y, where="post", color=colour, lw=1.8, label=f"Kaplan–Meier, {name}", gid=f"km:{name}")
        cens = np.repeat(k["time"].to_numpy(float), k["censored"].to_numpy(int))
        ax.plot(cens, np.interp(cens, x, y, right=y[-1]) if len(cens) else [], "|", color=colour, ms=7,
                gid=f"censor:{name}")
    for model, bands in curves.items():
        for level, (name, colour) in enumerate(zip(arm_names, ARM_COLOURS)):
            b = bands[bands["level"] == level]
            grid = b["time"].to_numpy(float)
            ax.fill_between(grid, b["lower"].to_numpy(float), b["upper"].to_numpy(float), color=colour,
                            alpha=BAND_ALPHA, lw=0, gid=f"band:{model}:{name}")
            ax.plot(grid, b["median"].to_numpy(float), MODEL_STYLES.get(model, "-."), color=colour, lw=1.2,
                    label=f"{model_label(model)} posterior median, {name}", gid=f"median:{model}:{name}")
    ax.set_ylim(0, 1.02)
    ax.set_xlim(0, t_max)
    ax.set_ylabel(f"{endpoint_label}: probability")
    ax.legend(fontsize=7, loc="upper right", frameon=False)
    ax.grid(alpha=0.3)
    ax.set_title(f"{endpoint_label}: Kaplan–Meier and posterior survival ({int(CI_PROB * 100)}% bands)",
                 fontsize=10)
    ticks = ax.get_xticks()
    ticks = ticks[(ticks >= 0) & (ticks <= t_max)]
    for level, (k, name, colour) in enumerate(zip(tables, arm_names, ARM_COLOURS)):
        for t, n in zip(ticks, at_risk(k, ticks)):
            ax_risk.text(t, len(arm_names) - 1 - level, str(n), ha="center", va="center", color=colour,
                         fontsize=8, gid=f"risk:{name}")
    ax_risk.set_yticks(list(range(len(arm_names)))[::-1], labels=list(arm_names), fontsize=8)
    ax_risk.set_ylim(-0.6, len(arm_names) - 0.4)
    ax_risk.set_xlabel(f"Time ({time_unit})")
    ax_risk.set_title("Number at risk", fontsize=8, loc="left")
    for side in ("top", "right", "bottom"):
        ax_risk.spines[side].set_visible(False)
    ax_risk.tick_params(axis="x", length=0)
    ax_risk.tick_params(axis="y", length=0, pad=14)
    return fig


def hr_summaries(rows: pd.DataFrame, key) -> tuple[dict, dict]:
    """Hazard-ratio rows by ``key(record)``: (key -> {source -> its first summary row},
    (key, source) -> P(HR < 1)). One pass over plain records (the report reads thousands of rows)."""
    summaries: dict = {}
    p_below_1: dict = {}
    for r in rows.to_dict("records"):
        if base_quantity(r["quantity"]) != "hr":
            continue
        k = key(r)
        if r["probability"] != r["probability"]:  # NaN: a summary row
            summaries.setdefault(k, {}).setdefault(r["source"], r)
        elif r["threshold"] == 1.0 and r["direction"] == "<":
            p_below_1.setdefault((k, r["source"]), float(r["probability"]))
    return summaries, p_below_1


def forest_rows(table: pd.DataFrame, prefix: str, endpoint: str, prior_set: str) -> pd.DataFrame:
    """One row per published HR of the table ``prefix`` (registry ids ``<prefix>.…``) and endpoint, with
    the published CI, the Cox CI on the cohort, the posterior CrI of ``prior_set`` and, for the model of
    that posterior, P(HR < 1) under each prior set (columns ``p_<prior set>``, table order)."""
    sel = table[table["registry_id"].str.startswith(prefix + ".") & (table["endpoint"] == endpoint)]
    summaries, probs = hr_summaries(sel, lambda r: r["registry_id"])
    out = []
    for rid, by_source in summaries.items():
        p = by_source.get("published")
        if p is None:
            continue
        row = {"registry_id": rid, "label": f"{p['contrast']} ({p['analysis'].split(':')[-1]})",
               "population": p["population"]}
        bayes = next((r for src, r in by_source.items() if src.startswith("bayes:") and r["prior_set"] == prior_set),
                     None)
        for key, r in (("published", p), ("frequentist", by_source.get("frequentist")), ("bayes", bayes)):
            for col in ("estimate", "lower", "upper"):
                row[f"{key}_{col}"] = float(r[col]) if r is not None else np.nan
        row["bayes_source"] = bayes["source"] if bayes is not None else ""
        prior = prior_of(bayes["note"]) if bayes is not None else ""
        if prior:  # the prior of the term in the posterior shown
            row["label"] += f" · prior {prior.split(' (')[0]}"
        if bayes is not None:  # P(HR < 1) of the same model under each prior set
            for src, r in by_source.items():
                if src.startswith("bayes:") and r["model"] == bayes["model"] and (rid, src) in probs:
                    row["p_" + r["prior_set"]] = probs[(rid, src)]
        out.append(row)
    return pd.DataFrame(out)


def _plain_number(value: float, _position) -> str:
    return f"{value:g}"


def plain_log_axis(axis) -> None:
    """Log scale with plain tick labels (0.2, 0.5, 1, 2) instead of mathtext powers of ten: easier to read
    for a hazard ratio, and no mathtext parsing on every draw."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(_plain_number))  # a module function: the figure pickles
    axis.set_minor_formatter(NullFormatter())


def forest_figure(rows: pd.DataFrame, title: str) -> Figure:
    """Left: published CI, Cox CI and posterior CrI per hazard ratio; right (when the rows have ``p_<set>``
    columns): P(HR < 1) under each prior set — the prior sensitivity of every row in one panel."""
    n = len(rows)
    sets = [c[2:] for c in rows.columns if c.startswith("p_")]
    fig = Figure(figsize=(9.0 if sets else 7.2, 1.2 + 0.26 * n), layout="constrained")
    ax, axp = fig.subplots(1, 2, sharey=True, width_ratios=(2.4, 1.0)) if sets else (fig.add_subplot(), None)
    y = np.arange(n)[::-1].astype(float)
    offsets = {"published": 0.22, "frequentist": 0.0, "bayes": -0.22}
    labels = {"published": "published 95% CI", "frequentist": "Cox 95% CI (pseudo-patient cohort)",
              "bayes": "posterior 95% CrI"}
    for key, off in offsets.items():
        est, lo, hi = (rows[f"{key}_{c}"].to_numpy() for c in ("estimate", "lower", "upper"))
        ok = np.isfinite(est) & np.isfinite(lo) & np.isfinite(hi)
        if not ok.any():
            continue
        err = np.vstack([est - lo, hi - est])[:, ok]
        ax.errorbar(est[ok], y[ok] + off, xerr=np.clip(err, 0, None), fmt="o", ms=3.5, lw=1.2, capsize=0,
                    color=SOURCE_COLOURS[key], label=labels[key], gid=f"forest:{key}")
    ax.axvline(1.0, color="grey", lw=0.8, ls="--")
    ax.set_xscale("log")
    plain_log_axis(ax.xaxis)
    ax.set_yticks(y, labels=rows["label"].tolist(), fontsize=7)
    ax.set_ylim(-0.8, n - 0.2)
    ax.set_xlabel("Hazard ratio (log scale)")
    if axp is not None:
        for i, ps in enumerate(sets):
            p = rows[f"p_{ps}"].to_numpy(float)
            ok = np.isfinite(p)
            axp.plot(p[ok], y[ok] + (i - (len(sets) - 1) / 2) * 0.09, "o", ms=3, color=OKABE_ITO[(i + 5) % 8],
                     label=f"P(HR < 1), {ps.replace('_', ' ')} prior", gid=f"forest:p:{ps}")
        axp.axvline(0.5, color="grey", lw=0.6, ls=":")
        axp.set_xlim(-0.03, 1.03)
        axp.set_xticks([0, 0.5, 1], labels=["0", "0.5", "1"])
        axp.set_xlabel("P(HR < 1)")
        axp.grid(axis="x", alpha=0.3)
    fig.suptitle(title, fontsize=10)
    fig.legend(fontsize=7, loc="outside lower center", ncols=3, frameon=False)
    ax.grid(axis="x", alpha=0.3)
    return fig
