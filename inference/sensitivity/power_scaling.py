"""Power-scaling prior and likelihood sensitivity of a fitted model, without refitting.

ArviZ's ``psense_summary`` (Kallioinen, Paananen, Bürkner & Vehtari 2024, *Detecting and diagnosing
prior and likelihood sensitivity with power-scaling*, Stat Comput 34:57) perturbs the prior or the
likelihood by a power α ∈ {0.99, 1.01} through Pareto-smoothed importance weights on the existing draws
and reports, per parameter, the derivative of the cumulative Jensen–Shannon distance between the
perturbed and the original posterior. With the default threshold 0.05:

* prior ≥ 0.05 and likelihood ≥ 0.05 → "potential prior-data conflict";
* prior > 0.05 > likelihood → "potential strong prior / weak likelihood";
* else "✓".

Only the **top-level** priors are power-scaled: :func:`hccbayes.inference.fitting.fit.fit` stores exactly those
log densities in the ``log_prior`` group (hierarchical standard-normal ``z`` terms are not priors one
chooses, and scaling them would change the model), and we pass that group's variables as
``prior_var_names``. The likelihood is the per-patient ``y`` of the ``log_likelihood`` group.
"""
from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from hccbayes.inference.engine.table import row

log = logging.getLogger(__name__)

THRESHOLD = 0.05  # Kallioinen et al. (2024) and ArviZ's default
OK = "✓"
PSENSE_COLUMNS = ("parameter", "prior", "likelihood", "diagnosis")


def sampled_parameters(dt) -> list[str]:
    """Posterior variables that carry a top-level prior (those in ``log_prior``) plus deterministic
    quantities a reader looks at (regimen deviations); not the auxiliary non-centred ``z`` variables."""
    post = dt["posterior"]
    names = [v for v in dt["log_prior"].data_vars if v in post]
    names += [v for v in ("regimen_deviation",) if v in post and v not in names]
    return names


def power_scaling(dt, threshold: float = THRESHOLD, var_names: list[str] | None = None) -> pd.DataFrame:
    """Per-parameter prior and likelihood sensitivity with the diagnosis: columns
    parameter, prior, likelihood, diagnosis (parameter labels as ArviZ prints them, e.g.
    ``log_hr[treated]``)."""
    from arviz_stats import psense_summary

    for group in ("log_prior", "log_likelihood"):
        if group not in dt.children:
            raise ValueError(f"power-scaling needs the {group!r} group (fit() stores it; a fit loaded "
                             "with only its posterior group cannot be power-scaled)")
    df = psense_summary(dt, var_names=var_names or sampled_parameters(dt), threshold=threshold,
                        prior_var_names=list(dt["log_prior"].data_vars), likelihood_var_names=["y"],
                        round_to=6)
    out = df.reset_index().rename(columns={"index": "parameter"})
    return out[list(PSENSE_COLUMNS)]


def contrast_label(term: str) -> str:
    return f"log_hr[{term}]"


def psense_rows(ps: pd.DataFrame, base: dict[str, Any], threshold: float = THRESHOLD) -> list[dict[str, Any]]:
    """Comparison-table rows of one fit's power-scaling result: per parameter a ``psense_prior`` and a
    ``psense_likelihood`` row (estimate = the sensitivity, threshold = the diagnosis threshold, note =
    the diagnosis). ``base`` holds the shared columns (analysis, source, model, prior_set, ...)."""
    rows = []
    for r in ps.itertuples(index=False):
        for component in ("prior", "likelihood"):
            rows.append(row(**{**base, "contrast": r.parameter, "quantity": f"psense_{component}",
                               "estimate": float(getattr(r, component)), "threshold": threshold,
                               "note": f"power-scaling {component} sensitivity (CJS); diagnosis: {r.diagnosis}"}))
    return rows


def flagged(ps: pd.DataFrame) -> pd.DataFrame:
    """The parameters with a diagnosis other than ✓."""
    return ps[ps["diagnosis"] != OK]
