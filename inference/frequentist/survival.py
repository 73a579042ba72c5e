"""Frequentist reference estimators for survival endpoints: Kaplan–Meier medians, S(t), numbers at risk
and the log-rank test, computed with statsmodels (``SurvfuncRight``, ``survdiff``) plus the small glue
needed to reproduce R's survival package exactly. Cox models live in :mod:`hccbayes.inference.frequentist.cox`.

Median and its 95% CI, two flavours (``ci_method``):

``"log"`` (R survival, the default): the pointwise CI of S(t) is log-transformed,
    S·exp(±z·se(log S)) with se(log S) from Greenwood, upper limit capped at 1
    (``survfit(conf.type = "log")``). The median is the first time S(t) <= 0.5; the CI limits are the
    first times the lower / upper band is <= 0.5. Where a curve sits exactly at 0.5 (within
    sqrt(machine eps)) R takes the midpoint to the next drop. ``median_rule`` picks which R function is
    matched: ``"print"`` = ``print(survfit)`` / ``summary(fit)$table`` (``survmean``); ``"quantile"`` =
    ``quantile(fit, 0.5)``. They differ only when a curve stays at exactly 0.5 to its last time:
    print reports the left end, quantile the midpoint of that time and the last follow-up time.

``"spss"`` (what SPSS KM prints, and what papers' symmetric intervals look like): median ± z·SE,
    SE(median) = SE(Ŝ(t_med)) / f̂(t_med), SE(Ŝ) from Greenwood and the density from a finite difference
    f̂ = (Ŝ(û) − Ŝ(l̂)) / (l̂ − û), û = max{event time t: Ŝ(t) >= 0.5 + ε} (t = 0, Ŝ = 1 if none),
    l̂ = min{event time t: Ŝ(t) <= 0.5 − ε}, ε = 0.05 (Collett, *Modelling Survival Data in Medical
    Research*, 3rd ed. 2015, §2.4.2). This is the formula commonly attributed to SPSS; the IBM SPSS
    algorithms document itself could not be consulted, so it is unverified against SPSS output. The
    median here is the first event time with Ŝ <= 0.5 (no midpoint rule); limits are not truncated at 0.

Output columns
--------------
:func:`km_medians`: group, n, events, median, lower, upper, se (SE of the median; NaN for "log"),
    ci_method.
:func:`km_at_times`: group, time, n_risk, surv, lower, upper (log CI of S(t), as ``summary(fit, times)``).
:func:`logrank`: groups, n_groups, df, chisq, p.
:func:`km_table`: time, n_risk, events, censored, survival (one group, every distinct time; for figures).
The group is ``"overall"`` for the whole frame (always the first row block).
"""
from __future__ import annotations

import logging
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from scipy.stats import chi2
from statsmodels.duration.survfunc import SurvfuncRight, survdiff

from hccbayes.models.priors.values import Z_TWO_SIDED_95

log = logging.getLogger(__name__)

R_TOL = float(np.sqrt(np.finfo(float).eps))  # R survival's tolerance for "exactly 0.5"
SPSS_EPS = 0.05
OVERALL = "overall"
CI_METHODS = ("log", "spss")
MEDIAN_RULES = ("print", "quantile")


class _Curve:
    """A Kaplan–Meier curve evaluated at every distinct observed time (events and censorings), as R's
    ``survfit`` stores it, built from statsmodels' event-time estimate."""

    def __init__(self, time, event):
        time = np.asarray(time, dtype=float)
        event = np.asarray(event, dtype=float)
        sf = SurvfuncRight(time, event)
        self.n = len(time)
        self.events = int(event.sum())
        self.event_times = np.asarray(sf.surv_times, dtype=float)
        # statsmodels' risk table; S and Greenwood's sum are re-accumulated in R's order (a running
        # product, not exp(cumsum(log))) because R's median rules compare S with 0.5 at ~1e-16 and
        # exp(log()) turns an exact 0.5 into 0.5000000000000001.
        n_risk = np.asarray(sf.n_risk, dtype=float)
        d = np.asarray(sf.n_events, dtype=float)
        self.event_surv = np.cumprod(1.0 - d / n_risk)
        term = np.full(d.shape, np.inf)
        np.divide(d, n_risk * (n_risk - d), out=term, where=n_risk > d)
        self.event_se_log = np.sqrt(np.cumsum(term))  # R's survfit std.err (SE of log S); inf once S = 0
        self.event_se = np.full(d.shape, np.nan)  # Greenwood SE of S; undefined once S = 0
        np.multiply(self.event_surv, self.event_se_log, out=self.event_se, where=self.event_surv > 0)
        self.time_all = np.unique(time)
        self.obs_time = time
        self.surv, self.se, self.se_log = self.at(self.time_all)

    def at(self, t):
        """S, SE(S) and SE(log S) at times ``t`` (right-continuous step function)."""
        idx = np.searchsorted(self.event_times, np.asarray(t, dtype=float), side="right") - 1
        safe = np.maximum(idx, 0)
        before = idx < 0
        if not len(self.event_times):
            return np.ones(idx.shape), np.zeros(idx.shape), np.zeros(idx.shape)
        surv = np.where(before, 1.0, self.event_surv[safe])
        se = np.where(before, 0.0, self.event_se[safe])
        se_log = np.where(before, 0.0, self.event_se_log[safe])
        return surv, se, se_log

    def log_band(self, surv, se_log, z=Z_TWO_SIDED_95):
        """R's conf.type = "log" limits; NaN where S = 0."""
        lower = np.full(surv.shape, np.nan)
        upper = np.full(surv.shape, np.nan)
        ok = surv > 0
        lower[ok] = surv[ok] * np.exp(-z * se_log[ok])
        upper[ok] = np.minimum(surv[ok] * np.exp(z * se_log[ok]), 1.0)
        return lower, upper

    def n_risk(self, t):
        return (self.obs_time[None, :] >= np.asarray(t, dtype=float)[:, None]).sum(axis=1)


# ---- R's median rules --------------------------------------------------------------------------------
def _r_print_median(y, x):
    """survival:::survmean's ``minmin``: first x with y < 0.5 + tol; midpoint if y is exactly 0.5 there."""
    y = np.asarray(y, dtype=float)
    keep = ~np.isnan(y) & (y < 0.5 + R_TOL)
    if not keep.any():
        return np.nan
    x, y = np.asarray(x)[keep], y[keep]
    lower_after = np.flatnonzero(y < y[0])
    if abs(y[0] - 0.5) < R_TOL and len(lower_after):
        return (x[0] + x[lower_after[0]]) / 2
    return float(x[0])


def _approx_constant_right(xs, vs, p):
    """R's ``approx(xs, vs, p, method = "constant", f = 1)`` for distinct, sorted-on-the-fly ``xs``."""
    order = np.argsort(xs, kind="stable")
    xs, vs = xs[order], vs[order]
    if len(xs) == 0 or p < xs[0] or p > xs[-1]:
        return None
    return int(vs[np.searchsorted(xs, p, side="left")])


def _r_quantile_median(y_surv, x_time, p=0.5):
    """survival:::findq on (c(0, time), c(0, 1 - surv)), as ``quantile(survfit, 0.5)`` uses it."""
    x = np.concatenate(([0.0], np.asarray(x_time, dtype=float)))
    y = np.concatenate(([0.0], 1.0 - np.asarray(y_surv, dtype=float)))
    if np.all(np.isnan(y)) or np.nanmax(y) < p:
        return np.nan
    xmax = x[-1]
    _, first = np.unique(y, return_index=True)  # drop repeated values (NaN kept once, as duplicated())
    keep = np.zeros(len(y), dtype=bool)
    keep[first] = True
    nan_seen = np.flatnonzero(np.isnan(y))
    keep[nan_seen[1:]] = False
    x, y = x[keep], y[keep]
    idx = np.arange(1, len(y) + 1)
    ok = ~np.isnan(y)
    i1 = _approx_constant_right(y[ok] + R_TOL, idx[ok], p)
    i2 = _approx_constant_right(y[ok] - R_TOL, idx[ok], p)
    quant = (x[i1 - 1] + x[i2 - 1]) / 2 if i1 is not None and i2 is not None else np.nan
    if not np.isnan(y[-1]) and abs(p - y[-1]) < R_TOL and i1 is not None:
        quant = (x[i1 - 1] + xmax) / 2
    return float(quant)


def _median_log(curve: _Curve, rule: str):
    lower, upper = curve.log_band(curve.surv, curve.se_log)
    if rule == "print":
        return tuple(_r_print_median(y, curve.time_all) for y in (curve.surv, lower, upper))
    return tuple(_r_quantile_median(y, curve.time_all) for y in (curve.surv, lower, upper))


def _median_spss(curve: _Curve, z=Z_TWO_SIDED_95):
    s, t = curve.event_surv, curve.event_times
    hit = np.flatnonzero(s <= 0.5 + R_TOL)
    if not len(hit):
        return np.nan, np.nan, np.nan, np.nan
    med = float(t[hit[0]])
    se_s = float(curve.event_se[hit[0]])
    above = np.flatnonzero(s >= 0.5 + SPSS_EPS)
    u_t, u_s = (float(t[above[-1]]), float(s[above[-1]])) if len(above) else (0.0, 1.0)
    below = np.flatnonzero(s <= 0.5 - SPSS_EPS)
    if not len(below):
        log.info("SPSS-style SE of the median undefined: S(t) never falls to %.2f", 0.5 - SPSS_EPS)
        return med, np.nan, np.nan, np.nan
    l_t, l_s = float(t[below[0]]), float(s[below[0]])
    se_med = se_s / ((u_s - l_s) / (l_t - u_t))
    return med, med - z * se_med, med + z * se_med, se_med


# ---- public API ----------------------------------------------------------------------------------------
def _groups(df: pd.DataFrame, group: str | None):
    yield OVERALL, df
    if group is not None:
        for g in sorted(df[group].dropna().unique(), key=str):
            yield str(g), df[df[group] == g]


def _clean(df: pd.DataFrame, time: str, event: str) -> pd.DataFrame:
    bad = df[time].isna() | df[event].isna()
    if bad.any():
        log.warning("dropping %d row(s) with a missing %s or %s", int(bad.sum()), time, event)
    return df.loc[~bad]


def km_medians(df: pd.DataFrame, time: str, event: str, group: str | None = None,
               ci_method: str = "log", median_rule: str = "print") -> pd.DataFrame:
    """Kaplan–Meier median survival with a 95% CI, overall and per level of ``group`` (see module doc)."""
    if ci_method not in CI_METHODS:
        raise ValueError(f"ci_method must be one of {CI_METHODS}, not {ci_method!r}")
    if median_rule not in MEDIAN_RULES:
        raise ValueError(f"median_rule must be one of {MEDIAN_RULES}, not {median_rule!r}")
    rows = []
    for name, sub in _groups(_clean(df, time, event), group):
        curve = _Curve(sub[time], sub[event])
        if ci_method == "log":
            med, lo, hi = _median_log(curve, median_rule)
            se = np.nan
        else:
            med, lo, hi, se = _median_spss(curve)
        rows.append(dict(group=name, n=curve.n, events=curve.events, median=med, lower=lo, upper=hi,
                         se=se, ci_method=ci_method))
    return pd.DataFrame(rows)


def km_at_times(df: pd.DataFrame, time: str, event: str, times: Sequence[float],
                group: str | None = None) -> pd.DataFrame:
    """Numbers at risk (time >= t), S(t) and its log-transformed 95% CI at ``times``, as R's
    ``summary(survfit(...), times = times, extend = TRUE)``."""
    times = np.asarray(times, dtype=float)
    out = []
    for name, sub in _groups(_clean(df, time, event), group):
        curve = _Curve(sub[time], sub[event])
        surv, _, se_log = curve.at(times)
        lower, upper = curve.log_band(surv, se_log)
        out.append(pd.DataFrame(dict(group=name, time=times, n_risk=curve.n_risk(times), surv=surv,
                                     lower=lower, upper=upper)))
    return pd.concat(out, ignore_index=True)


def km_table(time: Sequence[float], event: Sequence[float]) -> pd.DataFrame:
    """The Kaplan–Meier curve of one group at every distinct time, events and censorings alike: numbers at
    risk (time >= t), events, censored and S just after t (statsmodels ``SurvfuncRight``; 1 before the
    first event) — what a figure needs to draw the steps, the censoring marks and numbers at risk."""
    time, event = np.asarray(time, float), np.asarray(event, float)
    times, inverse = np.unique(time, return_inverse=True)
    events = np.bincount(inverse, weights=event, minlength=len(times)).round().astype(int)
    total = np.bincount(inverse, minlength=len(times))
    surv = np.ones(len(times))
    if events.any():
        sf = SurvfuncRight(time, event)
        idx = np.searchsorted(sf.surv_times, times, side="right") - 1
        surv = np.where(idx >= 0, sf.surv_prob[np.clip(idx, 0, None)], 1.0)
    return pd.DataFrame(dict(time=times, n_risk=total[::-1].cumsum()[::-1], events=events,
                             censored=total - events, survival=surv))


def logrank(df: pd.DataFrame, time: str, event: str, group: str) -> pd.DataFrame:
    """Log-rank test of equal survival across the levels of ``group`` (statsmodels ``survdiff``)."""
    d = _clean(df, time, event)
    d = d.loc[d[group].notna()]
    levels = sorted(d[group].unique(), key=str)
    if len(levels) < 2:
        raise ValueError(f"log-rank needs at least two groups in column {group!r}, found {levels}")
    chisq, _ = survdiff(d[time].to_numpy(float), d[event].to_numpy(float), d[group].astype(str).to_numpy())
    dof = len(levels) - 1
    return pd.DataFrame([dict(groups=" vs ".join(map(str, levels)), n_groups=len(levels), df=dof,
                              chisq=float(chisq), p=float(chi2.sf(chisq, dof)))])


# ---- Study-based helpers ---------------------------------------------------------------------------------
Population = str | Callable[[pd.DataFrame], pd.Series] | None


def select_population(df: pd.DataFrame, population: Population) -> pd.DataFrame:
    """Rows of ``df`` in the population: None (all), a ``DataFrame.query`` string such as
    ``'arm == "B"'``, or a callable returning a boolean mask."""
    if population is None:
        return df
    if isinstance(population, str):
        return df.query(population)
    return df.loc[population(df)]


def study_km(df: pd.DataFrame, study, endpoint: str, by: str | None = "arm",
             population: Population = None, ci_method: str = "log") -> pd.DataFrame:
    """:func:`km_medians` for a study endpoint; ``by`` is a column (default the study's arm column)."""
    ep = study.endpoint(endpoint)
    by = study.arm_column if by == "arm" else by
    out = km_medians(select_population(df, population), ep.time, ep.event, by, ci_method=ci_method)
    return out.assign(endpoint=endpoint)


def study_logrank(df: pd.DataFrame, study, endpoint: str, by: str | None = "arm",
                  population: Population = None) -> pd.DataFrame:
    ep = study.endpoint(endpoint)
    by = study.arm_column if by == "arm" else by
    return logrank(select_population(df, population), ep.time, ep.event, by).assign(endpoint=endpoint)
