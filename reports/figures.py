"""Survival and forest figures as matplotlib ``Figure`` objects (no pyplot, no global state).

* :func:`survival_figure`: Kaplan–Meier step curves per arm (statsmodels ``SurvfuncRight`` on the
  fitted patients' own times — the fit's ``observed_data``/``constant_data`` groups, so the curves are of
  exactly the data that were modelled) with the posterior median and 95% band of the standardised
  survival curve of each model (:func:`hccbayes.models.survival.quantities.standardised_curves`) and the numbers
  at risk per arm below the axis. One figure per survival analysis; bands of the plan's primary prior set.
* :func:`forest_figure`: the hazard ratios of one published table and endpoint, one row per published
  HR: published 95% CI, Cox 95% CI on the cohort (when the table has it) and the posterior 95% CrI of
  the primary prior set; log axis.

Colours: the Okabe–Ito palette (colour-blind safe); artists carry ``gid`` labels the tests count.
"""
from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from hccbayes.models.priors.values import CI_PROB
from hccbayes.models.survival.design import SurvivalData, SurvivalSpec
from hccbayes.models.survival.families import FAMILIES
from hccbayes.models.survival.quantities import standardised_curves
from hccbayes.reports.numbers import base_quantity, model_label

log = logging.getLogger(__name__)

OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000")
ARM_COLOURS = ("#0072B2", "#D55E00")  # reference arm, comparison arm
SOURCE_COLOURS = {"published": "#000000", "frequentist": "#E69F00", "bayes": "#0072B2"}
MODEL_STYLES = dict(zip(FAMILIES, ("--", ":", "-.", (0, (5, 1, 1, 1)))))  # line style of each survival family
BAND_ALPHA = 0.18


def data_from_fit(dt) -> tuple[SurvivalData, SurvivalSpec] | None:
    """Rebuild the modelled arrays from a fit's own groups (None for regimen-effect fits, whose regimen
    indices are not stored)."""
    spec = SurvivalSpec(**json.loads(dt.attrs["spec"]))
    if spec.regimen_effects:
        return None
    obs = dt["observed_data"].to_dataset()
    const = dt["constant_data"].to_dataset()
    X = np.asarray(const["X"].values, float)
    data = SurvivalData(time=np.asarray(obs["time"].values, float), event=np.asarray(obs["event"].values, float),
                        X=X, terms=tuple(str(t) for t in const["term"].values),
                        ids=tuple(str(i) for i in obs["patient"].values), center=X.mean(axis=0))
    return data, spec


def km_step(time: np.ndarray, event: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan–Meier step coordinates starting at (0, 1) (statsmodels SurvfuncRight)."""
    from statsmodels.duration.survfunc import SurvfuncRight

    sf = SurvfuncRight(time, event)
    return np.r_[0.0, sf.surv_times], np.r_[1.0, sf.surv_prob]


def at_risk(time: np.ndarray, ticks: np.ndarray) -> list[int]:
    return [int((time >= t).sum()) for t in ticks]


def survival_figure(fits: dict[str, object], arm_names: tuple[str, str], endpoint_label: str,
                    term: str | None = None) -> Figure:
    """``fits``: model name -> posterior DataTree (same data, e.g. Weibull and PEM under one prior set).
    ``arm_names``: labels of term = 0 and term = 1."""
    first = next(iter(fits.values()))
    built = data_from_fit(first)
    if built is None:
        raise ValueError("survival figures need fits without regimen effects")
    data, spec = built
    term = term or spec.contrast_term
    arm = data.X[:, data.terms.index(term)]
    t_max = float(np.ceil(data.time.max()))
    grid = np.round(np.arange(0.0, t_max + 1e-9, 0.25), 10)
    fig = Figure(figsize=(7.2, 5.4), layout="constrained")
    gs = fig.add_gridspec(2, 1, height_ratios=(4, 1))
    ax = fig.add_subplot(gs[0])
    ax_risk = fig.add_subplot(gs[1], sharex=ax)
    for level, (name, colour) in enumerate(zip(arm_names, ARM_COLOURS)):
        m = arm == level
        x, y = km_step(data.time[m], data.event[m])
        ax.step(x, y, where="post", color=colour, lw=1.8, label=f"Kaplan–Meier, {name}", gid=f"km:{name}")
        cens = m & (data.event == 0)
        ax.plot(data.time[cens], np.interp(data.time[cens], x, y, right=y[-1]) if cens.any() else [], "|",
                color=colour, ms=7, gid=f"censor:{name}")
    tail = (1 - CI_PROB) / 2
    for model, dt in fits.items():
        d, s = data_from_fit(dt)
        curves = standardised_curves(dt, d, s, term, grid=grid)
        for level, (name, colour) in enumerate(zip(arm_names, ARM_COLOURS)):
            c = curves.sel(level=level).stack(sample=("chain", "draw")).values  # (time, samples)
            lo, mid, hi = np.quantile(c, [tail, 0.5, 1 - tail], axis=1)
            ax.fill_between(grid, lo, hi, color=colour, alpha=BAND_ALPHA, lw=0, gid=f"band:{model}:{name}")
            ax.plot(grid, mid, MODEL_STYLES.get(model, "-."), color=colour, lw=1.2,
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
    for level, (name, colour) in enumerate(zip(arm_names, ARM_COLOURS)):
        for t, n in zip(ticks, at_risk(data.time[arm == level], ticks)):
            ax_risk.text(t, 1 - level, str(n), ha="center", va="center", color=colour, fontsize=8,
                         gid=f"risk:{name}")
    ax_risk.set_yticks([1, 0], labels=list(arm_names), fontsize=8)
    ax_risk.set_ylim(-0.6, 1.6)
    ax_risk.set_xlabel("Time since start of second-line treatment (months)")
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
        if bayes is not None:
            model = bayes["source"].split(":")[1]
            for src in by_source:
                if src.startswith(f"bayes:{model}:") and (rid, src) in probs:
                    row["p_" + src.split(":")[2]] = probs[(rid, src)]
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
