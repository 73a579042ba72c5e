"""Fast numpy survival estimators used *inside* the reconstruction search (thousands of calls).

These are deliberately small: Kaplan–Meier median (R's convention: where S(t) equals 0.5 exactly over an
interval the median is the midpoint), its Collett/SPSS-style symmetric 95% CI, and Cox partial
likelihood fits with Breslow ties by Newton–Raphson. The fidelity table never uses them: it recomputes
every target from the written CSV with the reference estimators (:mod:`hccbayes.data.reconstruct_ref`).
"""
from __future__ import annotations

import numpy as np

_EPS = 1e-9


def km_curve(time: np.ndarray, event: np.ndarray):
    """Distinct event times, S(t) just after each, and the Greenwood variance of S(t)."""
    time = np.asarray(time, float)
    event = np.asarray(event, bool)
    ut = np.unique(time[event])
    if ut.size == 0:
        return ut, ut.copy(), ut.copy()
    st = np.sort(time)
    at_risk = st.size - np.searchsorted(st, ut, side="left")
    deaths = np.bincount(np.searchsorted(ut, time[event]), minlength=ut.size).astype(float)
    surv = np.cumprod(1.0 - deaths / at_risk)
    denom = (at_risk * (at_risk - deaths)).astype(float)
    term = np.divide(deaths, denom, out=np.full(ut.size, np.nan), where=denom > 0)
    return ut, surv, surv ** 2 * np.cumsum(term)


def km_median(time, event) -> float:
    """KM median, R convention (midpoint of a flat at exactly 0.5); NaN when S never reaches 0.5."""
    ut, surv, _ = km_curve(time, event)
    below = np.flatnonzero(surv <= 0.5 + _EPS)
    if below.size == 0:
        return float("nan")
    k = below[0]
    if abs(surv[k] - 0.5) < _EPS and k + 1 < ut.size:
        return float((ut[k] + ut[k + 1]) / 2)
    return float(ut[k])


def km_median_ci_collett(time, event, z: float = 1.959964) -> tuple[float, float, float]:
    """Median with the symmetric CI median ± z·se, se = se(S(t50)) / f̂(t50) (Collett 2015, §2.4).

    f̂ is the slope of the KM curve between the last time with S ≥ 0.55 and the first with S ≤ 0.45.
    This is the interval SPSS prints for "Median ... 95% Confidence Interval".
    """
    ut, surv, var = km_curve(time, event)
    med = km_median(time, event)
    if np.isnan(med):
        return med, float("nan"), float("nan")
    k = int(np.flatnonzero(surv <= 0.5 + _EPS)[0])
    up = np.flatnonzero(surv >= 0.55 - _EPS)
    lo = np.flatnonzero(surv <= 0.45 + _EPS)
    t_u, s_u = (ut[up[-1]], surv[up[-1]]) if up.size else (0.0, 1.0)
    if lo.size == 0:
        return med, float("nan"), float("nan")
    t_l, s_l = ut[lo[0]], surv[lo[0]]
    if t_l <= t_u:
        return med, float("nan"), float("nan")
    dens = (s_u - s_l) / (t_l - t_u)
    se = np.sqrt(var[k]) / dens
    return med, float(med - z * se), float(med + z * se)


def _risk_index(time: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(time, kind="stable")
    st = time[order]
    first = np.searchsorted(st, st, side="left")
    return order, first


def cox_univariable(time, event, X, iters: int = 8, beta0: np.ndarray | None = None) -> np.ndarray:
    """log-HR of each column of binary X fitted on its own (Breslow ties); vectorised over columns.
    ``beta0`` warm-starts Newton's method (the search changes two patients at a time)."""
    time = np.asarray(time, float)
    order, first = _risk_index(time)
    d = np.asarray(event, float)[order]
    Xs = np.asarray(X, float)[order]
    beta = np.zeros(Xs.shape[1]) if beta0 is None else np.array(beta0, float)
    for _ in range(iters):
        w = np.exp(Xs * beta)
        s0 = np.cumsum(w[::-1], axis=0)[::-1][first]
        s1 = np.cumsum((Xs * w)[::-1], axis=0)[::-1][first]
        m = s1 / s0
        grad = d @ (Xs - m)
        info = d @ (m - m * m)
        step = np.where(info > 1e-9, grad / np.maximum(info, 1e-9), 0.0)
        beta = np.clip(beta + np.clip(step, -2, 2), -6, 6)
    return beta


def cox_multivariable(time, event, X, iters: int = 8, beta0: np.ndarray | None = None) -> np.ndarray:
    """log-HRs of one Cox model with all columns of X (Breslow ties), ridge-stabilised Newton."""
    time = np.asarray(time, float)
    order, first = _risk_index(time)
    d = np.asarray(event, float)[order]
    Xs = np.asarray(X, float)[order]
    p = Xs.shape[1]
    beta = np.zeros(p) if beta0 is None else np.array(beta0, float)
    outer = Xs[:, :, None] * Xs[:, None, :]
    for _ in range(iters):
        w = np.exp(Xs @ beta)
        s0 = np.cumsum(w[::-1])[::-1][first]
        s1 = np.cumsum((Xs * w[:, None])[::-1], axis=0)[::-1][first]
        s2 = np.cumsum((outer * w[:, None, None])[::-1], axis=0)[::-1][first]
        m = s1 / s0[:, None]
        grad = d @ (Xs - m)
        info = np.einsum("i,ijk->jk", d, s2 / s0[:, None, None] - m[:, :, None] * m[:, None, :])
        step = np.linalg.solve(info + 1e-6 * np.eye(p), grad)
        beta = np.clip(beta + np.clip(step, -2, 2), -6, 6)
    return beta
