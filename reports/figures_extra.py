"""Response-rate densities, prior sensitivity and MCMC diagnostics figures (matplotlib ``Figure``).

Response densities — decision: the report is rebuilt from a finished run without refitting, and the
run stores no response draws (the beta-binomial posteriors are closed form and cheap), so the density
of a risk difference is drawn from **Beta posteriors recovered from the table**: for each group's
Bayesian ``rate`` row the Beta(a, b) whose median and 95% ETI match the row's estimate/lower/upper
(least squares on the three quantiles; exact for the conjugate Beta posteriors of
:mod:`hccbayes.models.response.beta_binomial`, whose rows are ``beta.ppf`` values). The density of the difference
p_comparison − p_reference is computed, not sampled: each Beta's probability mass on :data:`N_BINS`
equal bins of [0, 1] (differences of ``beta.cdf``, so a U-shaped Beta is handled) convolved with the
other's (``np.convolve``) gives the mass of the difference on the grid of bin-centre differences; the
only approximation is the bin width (0.25 percentage points). A recovery whose quantiles miss the row
by more than :data:`RECOVERY_TOL` (a mixture posterior, say) is logged and the curve is not drawn,
never faked. Threshold lines are the thresholds of the table's probability rows.

Diagnostics plots: ArviZ trace+density and rank plots of the :data:`WORST_ELEMENTS` scalar elements
(variable and coordinate) with the largest R-hat of a failing fit — the ones that failed — rather than
of every element (a PEM fit has one log hazard per interval, a multivariable fit one log HR per term).
"""
from __future__ import annotations

import logging
import textwrap

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import optimize, stats

from hccbayes.models.priors.values import CI_PROB
from hccbayes.reports.figures import OKABE_ITO, hr_summaries, plain_log_axis
from hccbayes.reports.numbers import base_quantity

log = logging.getLogger(__name__)

N_BINS = 400  # bins of [0, 1] for the difference density: width 0.25 percentage points
WORST_ELEMENTS = 4
TITLE_WIDTH = 95  # characters per title line at fontsize 10 on a 7.2-inch figure
RECOVERY_TOL = 0.002  # on the probability scale: table values are stored to 10 significant digits


def beta_from_quantiles(median: float, lower: float, upper: float, ci_prob: float = CI_PROB):
    """(a, b) of the Beta whose median and equal-tailed ``ci_prob`` interval are the given values, and
    the largest absolute quantile mismatch."""
    q = np.array([(1 - ci_prob) / 2, 0.5, (1 + ci_prob) / 2])
    target = np.array([lower, median, upper])
    m = min(max(median, 1e-3), 1 - 1e-3)
    sd = max((upper - lower) / 4, 1e-3)
    k = max(m * (1 - m) / sd**2 - 1, 1.0)

    def resid(log_ab):
        a, b = np.exp(log_ab)
        return stats.beta.ppf(q, a, b) - target

    sol = optimize.least_squares(resid, np.log([m * k, (1 - m) * k]), xtol=1e-12, ftol=1e-12)
    a, b = np.exp(sol.x)
    return float(a), float(b), float(np.max(np.abs(resid(sol.x))))


def _beta_masses(row: pd.Series) -> np.ndarray | None:
    """Probability mass of the row's recovered Beta on the :data:`N_BINS` bins of [0, 1], or None."""
    a, b, miss = beta_from_quantiles(row["estimate"], row["lower"], row["upper"])
    if miss > RECOVERY_TOL:
        log.warning("rate row %s/%s/%s is not a Beta posterior (quantiles off by %.4f): no density drawn",
                    row["analysis"], row["source"], row["group"], miss)
        return None
    return np.diff(stats.beta.cdf(np.linspace(0.0, 1.0, N_BINS + 1), a, b))


def difference_density(rates: pd.DataFrame, reference: str, comparison: str):
    """(x, density) of p_comparison − p_reference on the grid of bin-centre differences (x in
    proportion units, density per unit), or None when a group is missing or its recovery failed."""
    masses = []
    for group in (comparison, reference):
        r = rates[rates["group"] == group]
        m = _beta_masses(r.iloc[0]) if len(r) else None
        if m is None:
            return None
        masses.append(m)
    width = 1.0 / N_BINS
    x = np.arange(-(N_BINS - 1), N_BINS) * width
    return x, np.convolve(masses[0], masses[1][::-1]) / width


def response_density_figure(panels: list[tuple[pd.DataFrame, str, str, str]], title: str) -> Figure:
    """Posterior densities of the difference in a response rate, one panel per comparison of an analysis
    (``panels``: (rows of the comparison's endpoint, reference group, comparison group, panel title)), one
    curve per beta-binomial prior set and a vertical line at every threshold of the probability rows
    (percentage points). Artist gids name the panel's endpoint: ``density:<endpoint>:<source>``."""
    n = len(panels)
    ncols = 1 if n == 1 else 2
    nrows = -(-n // ncols)
    fig = Figure(figsize=(7.2, 3.8 if n == 1 else 0.7 + 2.6 * nrows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False).ravel())
    for ax, (rows, reference, comparison, panel_title) in zip(axes, panels):
        _density_panel(ax, rows, reference, comparison, panel_title if n > 1 else title, small=n > 1)
    for ax in axes[n:]:
        ax.set_axis_off()
    labelled = [ax for ax in axes[:n] if ax.get_legend_handles_labels()[1]]
    if n > 1:
        fig.suptitle(textwrap.fill(title, TITLE_WIDTH), fontsize=10)
        if labelled:  # the prior sets are the same in every panel: one legend (and one layout pass) for all
            handles, labels = labelled[0].get_legend_handles_labels()
            fig.legend(handles, labels, fontsize=8, frameon=False, loc="outside lower center", ncols=len(labels))
    elif labelled:
        axes[0].legend(fontsize=8, frameon=False)
    return fig


def _density_panel(ax, rows: pd.DataFrame, reference: str, comparison: str, title: str, small: bool) -> None:
    endpoint = rows["endpoint"].iloc[0]
    bayes = rows[rows["source"].str.startswith("bayes:")]
    for i, (source, g) in enumerate(bayes.groupby("source", sort=False)):
        rates = g[(g["quantity"] == "rate") & g["probability"].isna()]
        curve = difference_density(rates, reference, comparison)
        if curve is None:
            continue
        x, dens = curve
        ax.plot(100 * x, dens / 100, color=OKABE_ITO[(4 + i) % len(OKABE_ITO)], lw=1.6,
                label=f"{g['prior_set'].iloc[0].replace('_', ' ')} prior", gid=f"density:{endpoint}:{source}")
    probs = bayes[bayes["probability"].notna() & bayes["quantity"].map(base_quantity).isin(
        ["risk_difference", "rate_diff"])]
    for t in sorted(set(probs["threshold"].dropna())):
        ax.axvline(100 * t, color="grey", lw=0.9, ls="--" if t == 0 else ":", gid=f"threshold:{endpoint}:{t:g}")
    ax.set_xlim(-80, 80)
    size = 8 if small else 10
    ax.set_xlabel(f"{comparison} − {reference} (percentage points)" if small else
                  f"Difference in rate, {comparison} − {reference} (percentage points)", fontsize=size)
    ax.set_ylabel("Density (per point)" if small else "Posterior density (per percentage point)", fontsize=size)
    ax.set_title(textwrap.fill(title, TITLE_WIDTH // (2 if small else 1)), fontsize=size)
    if not ax.get_legend_handles_labels()[1]:
        ax.text(0.5, 0.5, "no Beta posterior could be recovered from the rate rows", transform=ax.transAxes,
                ha="center", gid=f"density:{endpoint}:none", fontsize=size)
    ax.tick_params(labelsize=size - 1)
    ax.grid(alpha=0.3)


def sensitivity_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """Per Bayesian source of one HR comparison: estimate, lower, upper and P(HR < 1)."""
    summaries, p_below_1 = hr_summaries(rows[rows["source"].str.startswith("bayes:")], lambda r: None)
    out = [{"source": src, "model": src.split(":")[1], "prior_set": s["prior_set"], "estimate": s["estimate"],
            "lower": s["lower"], "upper": s["upper"], "p_below_1": p_below_1.get((None, src), np.nan),
            "diagnostics_ok": s["diagnostics_ok"]} for src, s in summaries.get(None, {}).items()]
    return pd.DataFrame(out, columns=["source", "model", "prior_set", "estimate", "lower", "upper", "p_below_1",
                                      "diagnostics_ok"])


def sensitivity_figure(frame: pd.DataFrame, title: str) -> Figure:
    """Left: posterior median HR and 95% CrI per (model, prior set); right: P(HR < 1). Failed fits are
    drawn hollow and labelled."""
    n = len(frame)
    fig = Figure(figsize=(7.2, 1.4 + 0.32 * n), layout="constrained")
    ax, axp = fig.subplots(1, 2, sharey=True, width_ratios=(3, 2))
    y = np.arange(n)[::-1].astype(float)
    labels = []
    for yi, (_, r) in zip(y, frame.iterrows()):
        failed = pd.notna(r["diagnostics_ok"]) and not bool(r["diagnostics_ok"])
        colour = OKABE_ITO[5] if failed else OKABE_ITO[4]
        face = "none" if failed else colour
        ax.errorbar([r["estimate"]], [yi], xerr=[[r["estimate"] - r["lower"]], [r["upper"] - r["estimate"]]],
                    fmt="o", color=colour, mfc=face, capsize=0, lw=1.4, gid=f"sens:cri:{r['source']}")
        axp.plot([r["p_below_1"]], [yi], "o", color=colour, mfc=face, gid=f"sens:prob:{r['source']}")
        labels.append(f"{r['model']}, {r['prior_set'].replace('_', ' ')}" + (" (diagnostics failed)" if failed else ""))
    ax.axvline(1.0, color="grey", lw=0.8, ls="--")
    ax.set_xscale("log")
    plain_log_axis(ax.xaxis)
    ax.set_yticks(y, labels=labels, fontsize=8)
    ax.set_xlabel("Hazard ratio, posterior median and 95% CrI (log scale)")
    axp.set_xlim(0, 1)
    axp.axvline(0.5, color="grey", lw=0.6, ls=":")
    axp.set_xlabel("P(HR < 1)")
    for a in (ax, axp):
        a.grid(axis="x", alpha=0.3)
    fig.suptitle(title, fontsize=10)
    return fig


def diagnostics_frame(fits) -> pd.DataFrame:
    """One row per fit: key, model, prior set and its diagnostics record (from the fit's attrs)."""
    cols = ["max_rhat", "min_ess_bulk", "min_ess_tail", "divergences", "min_bfmi", "chains", "draws", "ok"]
    rows = [{"fit": k, "model": f.model, "prior_set": f.prior_set, **{c: f.diagnostics.get(c) for c in cols}}
            for k, f in fits.items()]
    return pd.DataFrame(rows, columns=["fit", "model", "prior_set", *cols])


def worst_elements(posterior, var_names: list[str], k: int = WORST_ELEMENTS):
    """A Dataset of the ``k`` scalar elements of ``var_names`` with the largest R-hat (arviz_stats), one
    variable per element named ``var[coordinate]``, dims (chain, draw)."""
    import arviz_stats as azs
    import xarray as xr

    rhat = azs.rhat(posterior[var_names])
    items = []
    for v in var_names:
        r = rhat[v]
        for idx in np.ndindex(r.shape):
            sel = dict(zip(r.dims, idx))
            labels = [str(r[d].values[i]) if d in r.coords else str(i) for d, i in sel.items()]
            items.append((-float(np.nan_to_num(r.values[idx], nan=np.inf)), v, sel, labels))
    items.sort(key=lambda t: t[0])
    out = {}
    for _, v, sel, labels in items[:k]:
        name = v + (f"[{', '.join(labels)}]" if labels else "")
        out[name] = posterior[v].isel(sel).drop_vars(list(sel), errors="ignore")
    return xr.Dataset(out)


def trace_rank_figures(posterior, var_names: list[str]) -> list:
    """ArviZ trace+density and rank plots (matplotlib figures, created through arviz_plots) of the
    worst elements (:func:`worst_elements`) of a fit's posterior Dataset."""
    import arviz_plots as azp

    worst = worst_elements(posterior, var_names)
    out = []
    for plot in (azp.plot_trace_dist, azp.plot_rank):
        pc = plot(worst, backend="matplotlib")
        out.append(pc.viz["figure"].item())
    return out
