"""Posterior survival quantities as xarray over (chain, draw, ...).

* hazard ratios exp(β) per term;
* survival curves S(t) for a covariate pattern (conditional) or **standardised** over the modelled
  population's covariate distribution with one term set to 0 or 1 (g-computation: the average of the
  patients' conditional curves; patients sharing a covariate pattern are averaged once, weighted);
* median survival (first grid time where S ≤ 0.5, linearly interpolated; NaN if not reached within the
  grid) and restricted mean survival time ∫_0^τ S(t) dt (trapezoid on the grid; τ default 24 months);
* posterior probabilities P(HR < c), P(Δ > d).

Curves are computed on a time grid for every posterior draw: by default (:func:`default_grid`) 0–60 by
0.05 when the follow-up fits in it (60 months), else 0 to the last follow-up time in 1200 steps, so a
study in days or weeks gets its medians and RMST too.
"""
from __future__ import annotations

import numpy as np
import xarray as xr

from hccbayes.models.survival.design import SurvivalData, SurvivalSpec
from hccbayes.models.survival.intervals import interval_stats, resolve_cuts

DEFAULT_HORIZON = 24.0
DEFAULT_GRID = np.round(np.arange(0.0, 60.0 + 1e-9, 0.05), 10)
GRID_STEPS = 1200  # steps of the grid of a follow-up longer than DEFAULT_GRID


def default_grid(data: SurvivalData) -> np.ndarray:
    """DEFAULT_GRID when the data's follow-up fits in it; else 0 to the last follow-up time rounded up to
    two significant digits (3329 days -> 3400), in GRID_STEPS steps."""
    end = float(np.max(data.time))
    if end <= DEFAULT_GRID[-1]:
        return DEFAULT_GRID
    unit = 10.0 ** (np.floor(np.log10(end)) - 1)
    return np.round(np.linspace(0.0, np.ceil(end / unit) * unit, GRID_STEPS + 1), 10)


def hazard_ratios(dt) -> xr.DataArray:
    return np.exp(dt["posterior"]["log_hr"]).rename("hazard_ratio")


def _flat(post, name) -> np.ndarray:
    a = np.asarray(post[name].values)
    return a.reshape(a.shape[0] * a.shape[1], *a.shape[2:])


def _log_cum_hazard_baseline(post, data: SurvivalData, spec: SurvivalSpec, grid: np.ndarray) -> np.ndarray:
    """log H0(t) on the grid for every draw: (samples, times); -inf at t = 0."""
    if spec.model == "weibull":
        b0 = _flat(post, "intercept")[:, None]
        k = _flat(post, "weibull_shape")[:, None]
        with np.errstate(divide="ignore"):
            log_t = np.log(grid)[None, :] - np.log(data.reference_time)
        return b0 + k * log_t
    cuts = resolve_cuts(data, spec)
    _, exposure = interval_stats(grid, np.zeros_like(grid), cuts)  # (times, J)
    lam = np.exp(_flat(post, "log_hazard"))  # (S, J)
    with np.errstate(divide="ignore"):
        return np.log(lam @ exposure.T)


def _linear_predictor(post, data: SurvivalData, X: np.ndarray, regimen: np.ndarray | None) -> np.ndarray:
    eta = _flat(post, "log_hr") @ data.centred(X).T  # (S, rows)
    if regimen is not None and "regimen_deviation" in post:
        eta = eta + _flat(post, "regimen_deviation")[:, regimen]
    return eta


def survival_curve(dt, data: SurvivalData, spec: SurvivalSpec, X: np.ndarray, weights: np.ndarray | None = None,
                   regimen: np.ndarray | None = None, grid: np.ndarray | None = None) -> xr.DataArray:
    """S(t) averaged over the rows of X (weights sum to 1): a conditional curve when X has one row."""
    grid = default_grid(data) if grid is None else grid
    post = dt["posterior"]
    log_h0 = _log_cum_hazard_baseline(post, data, spec, grid)  # (S, T)
    eta = _linear_predictor(post, data, np.atleast_2d(X), regimen)  # (S, R)
    w = np.full(eta.shape[1], 1.0 / eta.shape[1]) if weights is None else np.asarray(weights, float)
    surv = np.zeros_like(log_h0)
    for r in range(eta.shape[1]):  # rows are covariate patterns: few
        surv += w[r] * np.exp(-np.exp(log_h0 + eta[:, r : r + 1]))
    nc, nd = post.sizes["chain"], post.sizes["draw"]
    return xr.DataArray(surv.reshape(nc, nd, -1), dims=("chain", "draw", "time"),
                        coords={"chain": post["chain"].values, "draw": post["draw"].values, "time": grid},
                        name="survival")


def standardised_curves(dt, data: SurvivalData, spec: SurvivalSpec, term: str,
                        grid: np.ndarray | None = None) -> xr.DataArray:
    """Standardised S(t) with ``term`` set to 0 and to 1 for everyone: dims (level, chain, draw, time)."""
    j = data.terms.index(term)
    curves = []
    for level in (0.0, 1.0):
        X = data.X.copy()
        X[:, j] = level
        keys = X if data.regimen is None else np.column_stack([X, data.regimen])
        patterns, counts = np.unique(keys, axis=0, return_counts=True)
        reg = patterns[:, -1].astype(int) if data.regimen is not None else None
        curves.append(survival_curve(dt, data, spec, patterns[:, : X.shape[1]], counts / counts.sum(), reg, grid))
    return xr.concat(curves, dim=xr.DataArray([0, 1], dims="level", name="level"))


def regimen_curves(dt, data: SurvivalData, spec: SurvivalSpec, arm_term: str | None,
                   grid: np.ndarray | None = None) -> xr.DataArray:
    """Standardised S(t) per regimen (arm term set to the regimen's arm): dims (regimen, chain, draw, time)."""
    if data.regimen is None:
        raise ValueError("the analysis has no regimen effects")
    curves = []
    for r, name in enumerate(data.regimen_names):
        X = data.X.copy()
        if arm_term is not None:  # the arm term's value for this regimen's arm, as its patients have it
            j = data.terms.index(arm_term)
            value = np.unique(data.X[data.regimen == r, j])
            if value.size != 1:
                raise ValueError(f"regimen {name}: the arm term {arm_term} is not constant within the regimen")
            X[:, j] = value[0]
        patterns, counts = np.unique(X, axis=0, return_counts=True)
        curves.append(survival_curve(dt, data, spec, patterns, counts / counts.sum(),
                                     np.full(len(patterns), r), grid))
    return xr.concat(curves, dim=xr.DataArray(list(data.regimen_names), dims="regimen", name="regimen"))


def median_survival(curve: xr.DataArray) -> xr.DataArray:
    """First time S(t) ≤ 0.5 (linear interpolation between grid points); NaN when not reached."""
    s = curve.values
    t = curve["time"].values
    below = s <= 0.5
    idx = np.argmax(below, axis=-1)
    reached = below.any(axis=-1)
    idx = np.clip(idx, 1, len(t) - 1)
    s0 = np.take_along_axis(s, (idx - 1)[..., None], -1)[..., 0]
    s1 = np.take_along_axis(s, idx[..., None], -1)[..., 0]
    frac = np.where(s0 > s1, (s0 - 0.5) / np.where(s0 > s1, s0 - s1, 1.0), 0.0)
    med = t[idx - 1] + frac * (t[idx] - t[idx - 1])
    med = np.where(reached, med, np.nan)
    return xr.DataArray(med, dims=curve.dims[:-1], coords={k: v for k, v in curve.coords.items() if k != "time"},
                        name="median")


def rmst(curve: xr.DataArray, horizon: float = DEFAULT_HORIZON) -> xr.DataArray:
    """Restricted mean survival time to ``horizon`` (trapezoid rule on the grid)."""
    t = curve["time"].values
    if horizon > t[-1]:
        raise ValueError(f"RMST horizon {horizon} is beyond the time grid (max {t[-1]})")
    sub = curve.sel(time=slice(0, horizon))
    return sub.integrate("time").rename("rmst")


def prob_below(x: xr.DataArray, threshold: float) -> float:
    """P(x < threshold) over draws (NaN draws — e.g. median not reached — count as not below)."""
    v = np.asarray(x.values, float)
    return float(np.mean(np.nan_to_num(v, nan=np.inf) < threshold))


def prob_above(x: xr.DataArray, threshold: float) -> float:
    v = np.asarray(x.values, float)
    return float(np.mean(np.nan_to_num(v, nan=-np.inf) > threshold))


def summarise(x: xr.DataArray, ci_prob: float = 0.95) -> dict[str, float]:
    """Posterior median and equal-tailed ``ci_prob`` interval over (chain, draw)."""
    v = np.asarray(x.values, float).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        return {"estimate": np.nan, "lower": np.nan, "upper": np.nan}
    lo, mid, hi = np.quantile(v, [(1 - ci_prob) / 2, 0.5, (1 + ci_prob) / 2])
    return {"estimate": float(mid), "lower": float(lo), "upper": float(hi)}
