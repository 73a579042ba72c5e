"""Comparing a reconstructed cohort with the true patients it was digitised from (reconstruction tests).

:func:`km_gap` is the test of "the reconstructed Kaplan–Meier curve is within 0.02 of the true one at
every time", made exact for curves read off a figure:

* **time tolerance** ``delta``: a digitised point is read with an error in time (the simulated
  digitiser's is normal with SD ``time_sd`` of the axis; ``delta`` = 3 SD), so a step of the true curve
  may be reproduced up to ``delta`` earlier or later. The deviation at time t is how far S_rec(t) lies
  outside [S_true(t + delta), S_true(t − delta)] (0 inside), and symmetrically with the roles swapped;
* **one patient**: where few patients are at risk one patient is a step larger than 0.02
  (S(t−)/n_risk(t); 0.02 is that at 50 at risk): the algorithm cannot place a patient more precisely
  than a whole step, so the allowed deviation at t is max(0.02, one step of the true curve at t).

Times run from 0 to the earlier of the two curves' last times.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from statsmodels.duration.survfunc import SurvfuncRight

__all__ = ["KM_EPS", "km_gap", "strict_gap"]

KM_EPS = 0.02


def _step_function(time, event):
    sf = SurvfuncRight(np.asarray(time, float), np.asarray(event, float))
    t, s = np.r_[0.0, sf.surv_times], np.r_[1.0, sf.surv_prob]
    return (lambda x: s[np.searchsorted(t, np.asarray(x, float), side="right") - 1]), t


def _outside(f, g, grid, delta):
    """How far g(t) lies outside [f(t + delta), f(t - delta)] at each grid time."""
    gt = g(grid)
    return np.maximum(0.0, np.maximum(gt - f(np.maximum(grid - delta, 0.0)), f(grid + delta) - gt))


def km_gap(true: pd.DataFrame, rec: pd.DataFrame, delta: float) -> pd.DataFrame:
    """Per time (every jump of either curve, and those ± delta): deviation, allowed, n_risk of the truth.
    ``true``/``rec``: frames with time and event columns (one group)."""
    f, tf = _step_function(true["time"], true["event"])
    g, tg = _step_function(rec["time"], rec["event"])
    end = min(true["time"].max(), rec["time"].max())
    grid = np.unique(np.r_[tf, tg, tf + delta, tf - delta, tg + delta, tg - delta])
    grid = grid[(grid >= 0) & (grid <= end)]
    deviation = np.maximum(_outside(f, g, grid, delta), _outside(g, f, grid, delta))
    n_risk = (true["time"].to_numpy(float)[None, :] >= grid[:, None]).sum(axis=1)
    left = f(np.nextafter(grid, -np.inf))
    step = np.divide(left, n_risk, out=np.ones_like(left), where=n_risk > 0)
    return pd.DataFrame({"time": grid, "deviation": deviation, "allowed": np.maximum(KM_EPS, step),
                         "n_risk": n_risk})


def strict_gap(true: pd.DataFrame, rec: pd.DataFrame) -> float:
    """max |S_rec(t) − S_true(t)| with no time tolerance (reported, not asserted)."""
    return float(km_gap(true, rec, 0.0)["deviation"].max())


def cox_log_hr(df: pd.DataFrame, treated: str) -> tuple[float, float]:
    """(log HR, SE) of ``treated`` vs the other arm: the project's Cox (statsmodels PHReg, Efron ties)."""
    from hccbayes.inference.frequentist.cox import cox_fit

    r = cox_fit(df.assign(treated=(df["arm"] == treated).astype(int)), "time", "event", ["treated"]).iloc[0]
    return float(r["coef"]), float(r["se"])


BAYES_SETTINGS = dict(draws=2000, tune=500, chains=4)  # 8000 draws: MC error of a median ~0.03 SD


def posterior_log_hr(df: pd.DataFrame, treated: str, cache, seed: int = 1) -> tuple[float, float]:
    """(posterior median, posterior SD) of the log HR of ``treated``: the project's Weibull PH fit
    (hccbayes.inference.fitting.fit) under the weakly informative prior set, 4 x 2000 draws, ``seed``."""
    from hccbayes.inference.fitting.fit import SamplerSettings, fit
    from hccbayes.models.priors.sets import prior_set
    from hccbayes.models.survival.design import SurvivalData, SurvivalSpec
    from hccbayes.models.survival.quantities import hazard_ratios

    X = (df["arm"] == treated).to_numpy(float)[:, None]
    data = SurvivalData(time=df["time"].to_numpy(float), event=df["event"].to_numpy(float), X=X,
                        terms=("treated",), ids=np.arange(len(df)).astype(str), center=X.mean(axis=0))
    dt = fit(data, prior_set("weakly_informative"), SurvivalSpec("os", terms=("treated",), model="weibull"),
             SamplerSettings(**BAYES_SETTINGS), seed=seed, cache=cache)
    log_hr = np.log(hazard_ratios(dt).sel(term="treated").values.ravel())
    return float(np.median(log_hr)), float(np.std(log_hr))
