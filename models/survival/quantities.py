"""Posterior survival quantities as xarray over (chain, draw, ...).

* hazard ratios exp(β) per term;
* survival curves S(t) for a covariate pattern (conditional) or **standardised** over the modelled
  population's covariate distribution with some terms set for everyone (g-computation: the average of the
  patients' conditional curves; patients sharing a covariate pattern are averaged once, weighted) — one term
  at 0 and 1 (:func:`standardised_curves`) or any number of groups, e.g. the arms of a three-arm trial coded
  by two indicators (:func:`group_curves`);
* median survival (first grid time where S ≤ 0.5, linearly interpolated) — **+inf when not reached**
  within the follow-up: a result, not a clipped number; restricted mean survival time ∫_0^τ S(t) dt
  (trapezoid on the grid) and S(t) at landmark times;
* posterior probabilities P(HR < c), P(Δ > d); summaries whose quantiles keep ±inf draws.

Curves are computed on a grid from the data (:func:`time_grid`): 0 to the last observed time in
:data:`GRID_STEPS` equal steps, plus the RMST horizon and landmark times as exact grid points. It has no
unit of its own, so changing the study's time unit (days → months) changes nothing but the units.
"""
from __future__ import annotations

import numpy as np
import xarray as xr

from hccbayes.models.survival import imputation as imp
from hccbayes.models.survival.design import SurvivalData, SurvivalSpec
from hccbayes.models.survival.families import family

GRID_STEPS = 500  # linear interpolation of a smooth S(t): medians and RMST within ~1e-5 relative of the exact
CURVE_BUDGET = 4e8  # draws x covariate patterns x grid times of one standardised curve (about 2 s)


def time_grid(data: SurvivalData, extra=(), end: float | None = None) -> np.ndarray:
    """0 to ``end`` (default: the last observed time) in GRID_STEPS equal steps, with the times ``extra``
    (RMST horizons, landmark times: exact results there) added as grid points. Proportional to the data's
    times: times scaled by c give the grid scaled by c."""
    end = float(np.max(data.time)) if end is None else float(end)
    grid = np.linspace(0.0, end, GRID_STEPS + 1)
    extra = np.asarray([t for t in extra if t is not None and 0 < t <= end], float)
    return np.unique(np.concatenate([grid, extra])) if extra.size else grid


def default_grid(data: SurvivalData) -> np.ndarray:
    """The grid of the data's own follow-up (:func:`time_grid` without extra points)."""
    return time_grid(data)


def thin(dt, max_draws: int):
    """The DataTree with every k-th draw of each chain, so that at most about ``max_draws`` draws remain."""
    post = dt["posterior"].to_dataset()
    total = post.sizes["chain"] * post.sizes["draw"]
    step = max(1, -(-total // max(1, int(max_draws))))
    return xr.DataTree.from_dict({"posterior": post.isel(draw=slice(None, None, step))}) if step > 1 else dt


def curve_draws(dt, data: SurvivalData, grid: np.ndarray, budget: float = CURVE_BUDGET) -> tuple[object, str]:
    """(DataTree, note): all draws when a standardised curve over the data's covariate patterns on ``grid``
    stays within ``budget`` evaluations, else evenly thinned draws (said in the note). A cohort with a
    continuous covariate has about one pattern per patient: 900 patients x 500 times x 4000 draws would
    take a minute per group."""
    post = dt["posterior"]
    total = post.sizes["chain"] * post.sizes["draw"]
    cells = data.patterns.counts.size * len(grid)
    if cells * total <= budget:
        return dt, ""
    out = thin(dt, int(budget // cells))
    used = out["posterior"].sizes["chain"] * out["posterior"].sizes["draw"]
    note = (f"medians, RMST and S(t) from {used} of {total} draws (evenly thinned: {data.patterns.counts.size} "
            "covariate patterns)")
    return out, note


def hazard_ratios(dt) -> xr.DataArray:
    return np.exp(dt["posterior"]["log_hr"]).rename("hazard_ratio")


def survival_curve(dt, data: SurvivalData, spec: SurvivalSpec, X: np.ndarray, weights: np.ndarray | None = None,
                   regimen: np.ndarray | None = None, grid: np.ndarray | None = None,
                   log_h0: np.ndarray | None = None) -> xr.DataArray:
    """S(t) averaged over the rows of X (weights sum to 1): a conditional curve when X has one row.
    ``log_h0``: the baseline log cumulative hazard on ``grid`` per draw, if already computed (:func:`_baseline`)."""
    grid = default_grid(data) if grid is None else grid
    post = dt["posterior"]
    fam = family(spec.model)
    log_h0 = fam.log_cum_hazard_grid(post, data, spec, grid) if log_h0 is None else log_h0  # (S, T)
    eta = fam.eta(post, data, np.atleast_2d(X), regimen)  # (S, R)
    w = np.full(eta.shape[1], 1.0 / eta.shape[1]) if weights is None else np.asarray(weights, float)
    return _as_curve(post, _mixture(log_h0, eta, w), grid)


def _mixture(log_h0: np.ndarray, eta: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Σ_r w_r·exp(−H0·exp(η_r)) per draw: (S, T); weights (R,) or per draw (S, R). Each pattern's term is
    computed in one buffer (the same operations in the same order as the expression
    ``w_r * exp(-exp(log_h0 + η_r))``, so the same numbers, without a new (S, T) array per operation)."""
    w = np.broadcast_to(w, eta.shape) if w.ndim == 2 else w
    surv = np.zeros_like(log_h0)
    buf = np.empty_like(log_h0)
    for r in range(eta.shape[1]):  # rows are covariate patterns: few
        np.add(log_h0, eta[:, r : r + 1], out=buf)
        np.exp(buf, out=buf)
        np.negative(buf, out=buf)
        np.exp(buf, out=buf)
        np.multiply(w[:, r : r + 1] if w.ndim == 2 else w[r], buf, out=buf)
        surv += buf
    return surv


def _as_curve(post, surv: np.ndarray, grid: np.ndarray) -> xr.DataArray:
    nc, nd = post.sizes["chain"], post.sizes["draw"]
    return xr.DataArray(surv.reshape(nc, nd, -1), dims=("chain", "draw", "time"),
                        coords={"chain": post["chain"].values, "draw": post["draw"].values, "time": grid},
                        name="survival")


def group_curves(dt, data: SurvivalData, spec: SurvivalSpec, settings, grid: np.ndarray | None = None,
                 dim: str = "group", given_outcome: bool = True) -> xr.DataArray:
    """Standardised S(t) per group, a group being terms set to values for everyone (``settings``: a
    mapping group -> {term: value}; e.g. {"Obs": {"lev": 0, "lev5fu": 0}, "Lev": {"lev": 1, "lev5fu": 0}}):
    dims (``dim``, chain, draw, time). ``given_outcome``: see :func:`_standardised`."""
    grid, log_h0 = _baseline(dt, data, spec, grid)
    curves = [_standardised(dt, data, spec, {data.terms.index(t): v for t, v in values.items()}, data.regimen, grid,
                            log_h0, given_outcome=given_outcome) for values in settings.values()]
    return xr.concat(curves, dim=xr.DataArray(list(settings), dims=dim, name=dim))


def _baseline(dt, data: SurvivalData, spec: SurvivalSpec, grid: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(the grid, the baseline log cumulative hazard on it per draw): the same for every group of a fit."""
    grid = default_grid(data) if grid is None else grid
    return grid, family(spec.model).log_cum_hazard_grid(dt["posterior"], data, spec, grid)


def _standardised(dt, data: SurvivalData, spec: SurvivalSpec, fixed: dict, regimen: np.ndarray | None,
                  grid: np.ndarray, log_h0: np.ndarray, same_regimen: np.ndarray | None = None,
                  given_outcome: bool = True) -> xr.DataArray:
    """S(t) averaged over the modelled patients with the terms ``fixed`` (index -> value) set for everyone,
    patients sharing a covariate pattern (and ``regimen``) once, weighted; ``same_regimen``: everyone's regimen,
    not a pattern column. A patient with imputed values (imputation.py) counts as the exact mixture over the
    posterior of their missing values, draw by draw: the draw's continuous values and, for missing binary values,
    each combination weighted by P(x | y, θ, π) — or, with ``given_outcome`` False (draws from the prior: a
    prior predictive check), by P(x | π). ``grid``, ``log_h0``: the fit's baseline (:func:`_baseline`)."""
    post = dt["posterior"]
    fam = family(spec.model)
    drawn = fam.imputed(post, data, spec)
    X = data.X.copy()
    for j, value in fixed.items():
        X[:, j] = value
    keep = np.ones(data.n, dtype=bool)
    if drawn is not None:
        keep[drawn[0].patients] = False
    keys = X[keep] if regimen is None else np.column_stack([X[keep], regimen[keep]])
    patterns, counts = np.unique(keys, axis=0, return_counts=True)
    reg = patterns[:, -1].astype(int) if regimen is not None else None
    if same_regimen is not None:
        reg = np.full(len(patterns), same_regimen[0])
    if drawn is None:
        return survival_curve(dt, data, spec, patterns[:, : X.shape[1]], counts / counts.sum(), reg, grid, log_h0)
    lay, Xd, ll, logw = drawn
    for j, value in fixed.items():
        Xd[:, :, j] = value
    rows = lay.patients[lay.exp_patient]
    reg_rows = same_regimen[rows] if same_regimen is not None else (None if regimen is None else regimen[rows])
    eta = np.concatenate([fam.eta(post, data, patterns[:, : X.shape[1]], reg), fam.eta(post, data, Xd, reg_rows)],
                         axis=1)
    w = np.concatenate([np.broadcast_to(counts / data.n, (eta.shape[0], counts.size)),
                        imp.posterior_weights(lay, ll if given_outcome else np.zeros_like(ll), logw) / data.n], axis=1)
    return _as_curve(post, _mixture(log_h0, eta, w), grid)


def standardised_curves(dt, data: SurvivalData, spec: SurvivalSpec, term: str,
                        grid: np.ndarray | None = None, given_outcome: bool = True) -> xr.DataArray:
    """Standardised S(t) with ``term`` set to 0 and to 1 for everyone: dims (level, chain, draw, time)."""
    return group_curves(dt, data, spec, {0: {term: 0.0}, 1: {term: 1.0}}, grid, dim="level",
                        given_outcome=given_outcome)


def regimen_curves(dt, data: SurvivalData, spec: SurvivalSpec, arm_term: str | None,
                   grid: np.ndarray | None = None) -> xr.DataArray:
    """Standardised S(t) per regimen (arm term set to the regimen's arm): dims (regimen, chain, draw, time)."""
    if data.regimen is None:
        raise ValueError("the analysis has no regimen effects")
    curves = []
    grid, log_h0 = _baseline(dt, data, spec, grid)
    for r, name in enumerate(data.regimen_names):
        fixed = {}
        if arm_term is not None:  # the arm term's value for this regimen's arm, as its patients have it
            j = data.terms.index(arm_term)
            value = np.unique(data.X[data.regimen == r, j])
            if value.size != 1:
                raise ValueError(f"regimen {name}: the arm term {arm_term} is not constant within the regimen")
            fixed[j] = value[0]
        curves.append(_standardised(dt, data, spec, fixed, None, grid, log_h0, np.full(data.n, r)))
    return xr.concat(curves, dim=xr.DataArray(list(data.regimen_names), dims="regimen", name="regimen"))


def median_survival(curve: xr.DataArray, limit: float | None = None) -> xr.DataArray:
    """First time S(t) ≤ 0.5 (linear interpolation between grid points); +inf when not reached within the
    grid or, given ``limit`` (the last follow-up of a grid extended beyond it), not by that time."""
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
    med = np.where(reached, med, np.inf)
    if limit is not None:
        med = np.where(med > limit, np.inf, med)
    return xr.DataArray(med, dims=curve.dims[:-1], coords={k: v for k, v in curve.coords.items() if k != "time"},
                        name="median")


def rmst(curve: xr.DataArray, horizon: float) -> xr.DataArray:
    """Restricted mean survival time to ``horizon`` (trapezoid rule on the grid, which should hold the
    horizon as a point: :func:`time_grid`): the numbers of ``curve.sel(time=slice(0, horizon)).integrate("time")``
    (the same operations: Σ (Δt·0.5)·(S_i + S_(i-1))), computed in one buffer over the draws."""
    t = curve["time"].values
    if horizon > t[-1]:
        raise ValueError(f"RMST horizon {horizon} is beyond the time grid (max {t[-1]})")
    lo, hi = np.searchsorted(t, 0.0, side="left"), np.searchsorted(t, horizon, side="right")
    axis = curve.dims.index("time")
    y = np.moveaxis(curve.values, axis, -1)[..., lo:hi]
    half_dt = (t[lo + 1 : hi] - t[lo : hi - 1]) * 0.5
    buf = np.add(y[..., 1:], y[..., :-1])
    buf *= half_dt
    out = curve.isel(time=0, drop=True).copy(data=buf.sum(axis=-1))
    out.attrs = {}
    return out.rename("rmst")


def survival_at(curve: xr.DataArray, t: float) -> xr.DataArray:
    """S(t) at a landmark time (linear interpolation between grid points; exact at a grid point)."""
    return curve.interp(time=t).drop_vars("time").rename("survival")


def prob_below(x: xr.DataArray, threshold: float) -> float:
    """P(x < threshold) over draws (NaN draws — e.g. median not reached — count as not below)."""
    v = np.asarray(x.values, float)
    return float(np.mean(np.nan_to_num(v, nan=np.inf) < threshold))


def prob_above(x: xr.DataArray, threshold: float) -> float:
    v = np.asarray(x.values, float)
    return float(np.mean(np.nan_to_num(v, nan=-np.inf) > threshold))


def quantiles(v: np.ndarray, probs) -> np.ndarray:
    """numpy's (linear) quantiles of draws that may be ±inf (a median not reached): a quantile that falls
    on, or interpolates towards, an infinite draw is that infinity; the others are numpy's own numbers."""
    v = np.sort(np.asarray(v, float).ravel())
    finite = np.isfinite(v)
    if finite.all():
        return np.quantile(v, probs)
    capped = np.clip(v, v[finite].min(), v[finite].max()) if finite.any() else np.zeros_like(v)
    out = np.quantile(capped, probs)
    h = np.asarray(probs, float) * (v.size - 1)
    lo, hi = np.floor(h).astype(int), np.ceil(h).astype(int)
    out = np.where(~finite[hi] & (h > lo), v[hi], out)
    return np.where(~finite[lo], v[lo], out)


def summarise(x: xr.DataArray, ci_prob: float = 0.95) -> dict[str, float]:
    """Posterior median and equal-tailed ``ci_prob`` interval over (chain, draw); ±inf draws (not reached)
    count as such, undefined (NaN: inf − inf) draws are left out."""
    v = np.asarray(x.values, float).ravel()
    v = v[~np.isnan(v)]
    if v.size == 0:
        return {"estimate": np.nan, "lower": np.nan, "upper": np.nan}
    lo, mid, hi = quantiles(v, [(1 - ci_prob) / 2, 0.5, (1 + ci_prob) / 2])
    return {"estimate": float(mid), "lower": float(lo), "upper": float(hi)}
