"""The reconstruction check as a figure: digitised points, the Kaplan–Meier curves of the reconstructed
patients, and the numbers at risk of the table beside the reconstructed ones.

:func:`reconstruction_figure` draws, from the frame of
:func:`hccbayes.inference.frequentist.kmipd_fidelity.figure_data` (stored by a run as
``study/km_reconstruction.csv``), per group the raw digitised points (small dots), the cleaned curve the
algorithm walked (thin line) and the KM step curve of the reconstructed patients; below the axis, at every
time of the table, "table / rebuilt" numbers at risk (a mismatch in bold). The title carries the largest
|ΔS| per group. A matplotlib ``Figure`` (no pyplot); artists carry ``gid`` labels the tests count.
"""
from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from hccbayes.reports.figures import OKABE_ITO

__all__ = ["reconstruction_figure"]

COLOURS = ("#0072B2", "#D55E00") + tuple(c for c in OKABE_ITO if c not in ("#0072B2", "#D55E00"))


def reconstruction_figure(data: pd.DataFrame, time_label: str = "Time") -> Figure:
    """The figure of one reconstruction check (``data``: columns part, group, time, value, table)."""
    groups = list(dict.fromkeys(data["group"]))
    fig = Figure(figsize=(7.2, 5.0 + 0.25 * len(groups)), layout="constrained")
    gs = fig.add_gridspec(2, 1, height_ratios=(4, 0.6 + 0.35 * len(groups)))
    ax = fig.add_subplot(gs[0])
    ax_risk = fig.add_subplot(gs[1], sharex=ax)
    worst = []
    for i, g in enumerate(groups):
        colour = COLOURS[i % len(COLOURS)]
        mine = data[data["group"] == g]
        part = {name: rows for name, rows in mine.groupby("part", sort=False)}
        ax.plot(part["digitised"]["time"], part["digitised"]["value"], ".", ms=2.5, color=colour, alpha=0.35,
                gid=f"digitised:{g}")
        ax.step(part["cleaned"]["time"], part["cleaned"]["value"], where="post", color=colour, lw=0.8, alpha=0.6,
                ls="--", label=f"digitised (cleaned), {g}", gid=f"cleaned:{g}")
        ax.step(part["km"]["time"], part["km"]["value"], where="post", color=colour, lw=1.6,
                label=f"reconstructed KM, {g}", gid=f"km:{g}")
        worst.append(f"{g} {float(part['max_abs_diff']['value'].iloc[0]):.3f}")
        risk = part["at_risk"]
        for t, table, n in zip(risk["time"], risk["table"].astype(int), risk["value"].astype(int)):
            ax_risk.text(t, len(groups) - 1 - i, f"{table}/{n}", ha="center", va="center", color=colour,
                         fontsize=7, fontweight="bold" if n != table else "normal", gid=f"risk:{g}")
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("Survival probability")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper right", frameon=False)
    ax.set_title("Reconstructed patients vs digitised curves; max |ΔS|: " + ", ".join(worst), fontsize=9)
    ax_risk.set_yticks(range(len(groups))[::-1], labels=groups, fontsize=8)
    ax_risk.set_ylim(-0.6, len(groups) - 0.4)
    ax_risk.set_xlabel(time_label)
    ax_risk.set_title("Number at risk: table / reconstructed", fontsize=8, loc="left")
    for side in ("top", "right", "bottom"):
        ax_risk.spines[side].set_visible(False)
    ax_risk.tick_params(axis="x", length=0)
    ax_risk.tick_params(axis="y", length=0, pad=14)
    return fig
