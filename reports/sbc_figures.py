"""SBC figures: rank histograms and ECDF-difference plots, one PNG of each per model.

Matplotlib object API on the Agg canvas (no pyplot global state). Inputs are the plot-data tables of
:func:`hccbayes.inference.checks.sbc.histogram_data` and :func:`hccbayes.inference.checks.sbc.ecdf_data`.
"""
from __future__ import annotations

import io
import math
from pathlib import Path

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from hccbayes.atomic import write_bytes


def _grid(n: int) -> tuple[Figure, list]:
    cols = min(4, n)
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(3.2 * cols, 2.4 * rows), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False).ravel().tolist()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def rank_histograms(hist: pd.DataFrame, model: str) -> Figure:
    sub = hist[hist["model"] == model]
    params = list(dict.fromkeys(sub["parameter"]))
    fig, axes = _grid(len(params))
    for ax, p in zip(axes, params):
        h = sub[sub["parameter"] == p]
        ax.axhspan(h["lower99"].iloc[0], h["upper99"].iloc[0], color="0.85", label="99% under uniformity")
        ax.axhline(h["expected"].iloc[0], color="0.4", lw=0.8)
        ax.bar(h["bin"], h["count"], width=0.9, color="tab:blue")
        ax.set_title(p, fontsize=9)
        ax.set_xlabel("rank bin", fontsize=8)
    fig.suptitle(f"SBC rank histograms: {model}")
    return fig


def ecdf_differences(ecdf: pd.DataFrame, model: str) -> Figure:
    sub = ecdf[ecdf["model"] == model]
    params = list(dict.fromkeys(sub["parameter"]))
    fig, axes = _grid(len(params))
    for ax, p in zip(axes, params):
        e = sub[sub["parameter"] == p]
        band = e["band"].iloc[0]
        ax.fill_between(e["z"], -band, band, color="0.85", step="post", label="simultaneous 99%")
        ax.step(e["z"], e["ecdf_diff"], where="post", color="tab:blue")
        ax.axhline(0.0, color="0.4", lw=0.8)
        ax.set_title(p, fontsize=9)
        ax.set_xlabel("fractional rank", fontsize=8)
    fig.suptitle(f"SBC ECDF difference: {model}")
    return fig


def write_figures(hist: pd.DataFrame, ecdf: pd.DataFrame, out: Path) -> list[Path]:
    """``<model>_ranks.png`` and ``<model>_ecdf.png`` for every model in the tables."""
    paths = []
    for model in dict.fromkeys(hist["model"]):
        for fig, name in ((rank_histograms(hist, model), "ranks"), (ecdf_differences(ecdf, model), "ecdf")):
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=110)
            paths.append(write_bytes(Path(out) / f"{model}_{name}.png", buf.getvalue()))
    return paths
