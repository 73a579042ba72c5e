"""Cox proportional hazards reference fits (Efron ties as R's ``coxph`` default: the partial likelihood of
:mod:`hccbayes.inference.frequentist.efron`, maximised by Newton–Raphson with step-halving as ``coxph`` does)
and the paper's variable-selection rule: every univariable term with Wald p < 0.1 enters the
multivariable model (Yin et al. 2025, Methods 1.5).

Output columns of every table: term, coef (log HR), se, hr, lower, upper (95% Wald CI of the HR),
p (two-sided Wald), n, events (of the complete-case rows the model used), model ("univariable" or
"multivariable").
"""
from __future__ import annotations

import hashlib
import logging
from typing import NamedTuple, Sequence

import numpy as np
import pandas as pd
from scipy.stats import norm

from hccbayes.inference.frequentist.efron import EfronCox
from hccbayes.inference.frequentist.survival import Population, select_population
from hccbayes.models.priors.values import Z_TWO_SIDED_95

log = logging.getLogger(__name__)

SELECTION_P = 0.1
COX_COLUMNS = ["term", "coef", "se", "hr", "lower", "upper", "p", "n", "events", "model"]
# Newton–Raphson with step-halving, as R's coxph does (agfit/coxfit halve a step that lowers the log
# partial likelihood), iterated to a tight tolerance so estimates agree with coxph (which stops when the
# relative change of the log partial likelihood is < 1e-9) far better than the 1e-6 tests demand.
# statsmodels' own Newton has no step-halving and diverges on sparse many-term models R fits fine.
_MAXITER = 100
_TOL = 1e-12


class CoxConvergenceError(RuntimeError):
    """The Cox partial likelihood could not be maximised (e.g. complete separation)."""


def _newton_step_halving(model: EfronCox) -> tuple[np.ndarray, np.ndarray]:
    """Maximise the partial log-likelihood; return (coef, covariance)."""
    beta = np.zeros(model.exog.shape[1])
    ll = model.loglike(beta)
    for _ in range(_MAXITER):
        hess = model.hessian(beta)
        step = np.linalg.solve(hess, -model.score(beta))
        for _half in range(30):
            candidate = beta + step
            ll_new = model.loglike(candidate)
            if np.isfinite(ll_new) and ll_new >= ll - 1e-12 * abs(ll):
                break
            step = step / 2
        else:
            raise CoxConvergenceError("step-halving failed to increase the partial likelihood")
        converged = abs(ll_new - ll) <= _TOL * max(1.0, abs(ll)) and np.max(np.abs(step)) < 1e-9
        beta, ll = candidate, ll_new
        if converged:
            break
    else:
        raise CoxConvergenceError(f"no convergence in {_MAXITER} Newton iterations")
    cov = np.linalg.inv(-model.hessian(beta))
    return beta, cov


# (coef, covariance) by the data of the model: a run fits the same Cox model for its selection screens, its
# univariable rows and the study record's fidelity table (the bundled 70-patient study: 230 fits of 106
# distinct models)
_FITTED: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}
_FITTED_MAX = 4096


def _maximised(time: np.ndarray, X: np.ndarray, status: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(coef, covariance) of the Efron-ties Cox model of these arrays, maximised once per process for the same
    arrays (a pure function of them: the same numbers every time)."""
    h = hashlib.sha256()
    for a in (time, X, status):
        h.update(repr(a.shape).encode())
        h.update(np.ascontiguousarray(a, dtype=float).tobytes())
    key = h.digest()
    if key not in _FITTED:
        if len(_FITTED) >= _FITTED_MAX:
            _FITTED.clear()
        _FITTED[key] = _newton_step_halving(EfronCox(time, X, status))
    coef, cov = _FITTED[key]
    return coef.copy(), cov.copy()


class Selection(NamedTuple):
    univariable: pd.DataFrame
    multivariable: pd.DataFrame
    selected: tuple[str, ...]


def _endpoint_columns(endpoint) -> tuple[str, str]:
    if isinstance(endpoint, tuple):
        return endpoint
    return endpoint.time, endpoint.event


def cox_fit(df: pd.DataFrame, time: str, event: str, terms: Sequence[str],
            model: str = "multivariable") -> pd.DataFrame:
    """One Cox model with all ``terms`` (numeric columns, typically 0/1 indicators); complete cases."""
    terms = list(terms)
    if not terms:
        raise ValueError("a Cox model needs at least one term")
    cols = [time, event, *terms]
    d = df[cols].dropna()
    if len(d) < len(df):
        log.info("Cox model on %s: %d of %d rows have missing values and are left out",
                 ", ".join(terms), len(df) - len(d), len(df))
    coef, cov = _maximised(d[time].to_numpy(float), d[terms].to_numpy(float), d[event].to_numpy(float))
    se = np.sqrt(np.diag(cov))
    return pd.DataFrame(dict(
        term=terms, coef=coef, se=se, hr=np.exp(coef), lower=np.exp(coef - Z_TWO_SIDED_95 * se),
        upper=np.exp(coef + Z_TWO_SIDED_95 * se), p=2 * norm.sf(np.abs(coef / se)), n=len(d),
        events=int(d[event].sum()), model=model,
    ), columns=COX_COLUMNS)


def cox_univariable(df: pd.DataFrame, time: str, event: str, terms: Sequence[str]) -> pd.DataFrame:
    """One single-term Cox model per term, stacked."""
    return pd.concat([cox_fit(df, time, event, [t], model="univariable") for t in terms],
                     ignore_index=True)


def select_and_fit(df: pd.DataFrame, candidates: Sequence[str], endpoint,
                   threshold: float = SELECTION_P) -> Selection:
    """The paper's rule: univariable Cox for every candidate, then one multivariable model with the
    candidates whose univariable p < ``threshold``. ``endpoint`` is a (time, event) pair of column names
    or an object with ``.time`` and ``.event`` (a study Endpoint). The multivariable table is empty
    (same columns) when nothing is selected."""
    time, event = _endpoint_columns(endpoint)
    uni = cox_univariable(df, time, event, candidates)
    selected = tuple(uni.loc[uni["p"] < threshold, "term"])
    log.info("univariable p < %g: %s", threshold, ", ".join(selected) or "(none)")
    multi = cox_fit(df, time, event, selected) if selected else pd.DataFrame(columns=COX_COLUMNS)
    return Selection(uni, multi, selected)


def study_frame(df: pd.DataFrame, study, endpoint: str, factors: Sequence[str],
                population: Population = None) -> pd.DataFrame:
    """time, event and one 0/1 column per factor (named by the factor) for a study endpoint."""
    d = select_population(df, population)
    ep = study.endpoint(endpoint)
    out = pd.DataFrame({"time": d[ep.time].astype(float), "event": d[ep.event].astype(float)},
                       index=d.index)
    for name in factors:
        factor = study.factors[name]
        out[name] = factor.indicator(d[factor.column]).to_numpy()
    return out


def study_cox(df: pd.DataFrame, study, endpoint: str, factors: Sequence[str],
              population: Population = None, threshold: float = SELECTION_P) -> Selection:
    """:func:`select_and_fit` on a study cohort: factors by name from ``study.factors``."""
    frame = study_frame(df, study, endpoint, factors, population)
    sel = select_and_fit(frame, factors, ("time", "event"), threshold)
    return Selection(sel.univariable.assign(endpoint=endpoint), sel.multivariable.assign(endpoint=endpoint),
                     sel.selected)
