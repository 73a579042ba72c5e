"""Response-rate densities, prior sensitivity and MCMC diagnostics figures (matplotlib ``Figure``).

Response densities — decision: the report is rebuilt from a finished run without refitting, and the
run stores no response draws (the beta-binomial posteriors are closed form and cheap), so the density
of a risk difference is drawn from **Beta posteriors recovered from the table**: for each group's
Bayesian ``rate`` row the Beta(a, b) whose median and 95% ETI match the row's estimate/lower/upper
(least squares on the three quantiles; exact for the conjugate Beta posteriors of
:mod:`hccbayes.models.response`, whose rows are ``beta.ppf`` values). The difference density comes from
:data:`N_DRAWS` seeded draws of the two Betas. A recovery whose quantiles miss the row by more than
:data:`RECOVERY_TOL` (a mixture posterior, say) is logged and the curve is not drawn, never faked.
Threshold lines are the thresholds of the table's probability rows.
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import optimize, stats

from hccbayes.reports.figures import OKABE_ITO
from hccbayes.reports.numbers import base_quantity

log = logging.getLogger(__name__)

N_DRAWS = 20_000
SEED = 20250212
RECOVERY_TOL = 0.002  # on the probability scale: table values are stored to 10 significant digits
CI_PROB = 0.95


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


def difference_draws(rates: pd.DataFrame, reference: str, comparison: str, rng: np.random.Generator):
    """Draws of p_comparison − p_reference from the recovered Betas, or None if recovery failed."""
    draws = {}
    for group in (reference, comparison):
        r = rates[rates["group"] == group]
        if r.empty:
            return None
        r = r.iloc[0]
        a, b, miss = beta_from_quantiles(r["estimate"], r["lower"], r["upper"])
        if miss > RECOVERY_TOL:
            log.warning("rate row %s/%s/%s is not a Beta posterior (quantiles off by %.4f): no density drawn",
                        r["analysis"], r["source"], group, miss)
            return None
        draws[group] = rng.beta(a, b, N_DRAWS)
    return draws[comparison] - draws[reference]


def response_density_figure(rows: pd.DataFrame, reference: str, comparison: str, title: str) -> Figure:
    """Posterior densities of the difference in a response rate, one curve per beta-binomial prior set,
    with a vertical line at every threshold of the rows' probability rows (percentage points)."""
    fig = Figure(figsize=(7.2, 3.8), layout="constrained")
    ax = fig.add_subplot()
    rng = np.random.default_rng(SEED)
    bayes = rows[rows["source"].str.startswith("bayes:")]
    x = np.linspace(-1, 1, 801)
    for i, (source, g) in enumerate(bayes.groupby("source", sort=False)):
        rates = g[(g["quantity"] == "rate") & g["probability"].isna()]
        diff = difference_draws(rates, reference, comparison, rng)
        if diff is None:
            continue
        dens = stats.gaussian_kde(diff)(x)
        ax.plot(100 * x, dens / 100, color=OKABE_ITO[(4 + i) % len(OKABE_ITO)], lw=1.6,
                label=f"{g['prior_set'].iloc[0].replace('_', ' ')} prior", gid=f"density:{source}")
    probs = bayes[bayes["probability"].notna() & bayes["quantity"].map(base_quantity).isin(
        ["risk_difference", "rate_diff"])]
    for t in sorted(set(probs["threshold"].dropna())):
        ax.axvline(100 * t, color="grey", lw=0.9, ls="--" if t == 0 else ":", gid=f"threshold:{t:g}")
    lim = x[np.abs(x) <= 0.8]
    ax.set_xlim(100 * lim.min(), 100 * lim.max())
    ax.set_xlabel(f"Difference in rate, {comparison} − {reference} (percentage points)")
    ax.set_ylabel("Posterior density (per percentage point)")
    ax.set_title(title, fontsize=10)
    if ax.get_legend_handles_labels()[1]:
        ax.legend(fontsize=8, frameon=False)
    else:
        ax.text(0.5, 0.5, "no Beta posterior could be recovered from the rate rows", transform=ax.transAxes,
                ha="center", gid="density:none")
    ax.grid(alpha=0.3)
    return fig


def sensitivity_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """Per Bayesian source of one HR comparison: estimate, lower, upper and P(HR < 1)."""
    bayes = rows[rows["source"].str.startswith("bayes:") & (rows["quantity"].map(base_quantity) == "hr")]
    out = []
    for source, g in bayes.groupby("source", sort=False):
        s = g[g["probability"].isna()]
        p = g[g["probability"].notna() & (g["threshold"] == 1.0) & (g["direction"] == "<")]
        if s.empty:
            continue
        s = s.iloc[0]
        out.append({"source": source, "model": source.split(":")[1], "prior_set": s["prior_set"],
                    "estimate": s["estimate"], "lower": s["lower"], "upper": s["upper"],
                    "p_below_1": float(p["probability"].iloc[0]) if len(p) else np.nan,
                    "diagnostics_ok": s["diagnostics_ok"]})
    return pd.DataFrame(out)


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


def trace_rank_figures(dt, var_names: list[str]) -> list:
    """ArviZ trace+density and rank plots of a fit (matplotlib figures, created through arviz_plots)."""
    import arviz_plots as azp

    out = []
    for plot in (azp.plot_trace_dist, azp.plot_rank):
        pc = plot(dt, var_names=var_names, backend="matplotlib")
        out.append(pc.viz["figure"].item())
    return out
