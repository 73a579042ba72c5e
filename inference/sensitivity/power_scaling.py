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

:func:`power_scaling` computes what ``psense_summary`` computes, with ArviZ's own array functions
(``arviz_stats.base.array_stats.power_scale_lw`` and ``power_scale_sense``, which ``psense_summary`` reaches
through xarray) on the same arrays in the same order: the same numbers to the last bit
(tests/test_model_checks.py compares them with ``psense_summary``), in about a third of the time — two thirds of
``psense_summary``'s time on a 70-patient fit is xarray's stacking and relabelling around those calls.
"""
from __future__ import annotations

import itertools
import logging
from typing import Any

import numpy as np
import pandas as pd

from hccbayes.inference.engine.table import row

log = logging.getLogger(__name__)

THRESHOLD = 0.05  # Kallioinen et al. (2024) and ArviZ's default
ALPHAS = (0.99, 1.01)  # the power-scaling perturbations (ArviZ's default)
ROUND_TO = 6  # decimals of the reported sensitivities
SAMPLE_DIMS = ("chain", "draw")
OK = "✓"
PSENSE_COLUMNS = ("parameter", "prior", "likelihood", "diagnosis")


def sampled_parameters(dt) -> list[str]:
    """Posterior variables that carry a top-level prior (those in ``log_prior``) plus deterministic
    quantities a reader looks at (regimen deviations); not the auxiliary non-centred ``z`` variables."""
    post = dt["posterior"]
    names = [v for v in dt["log_prior"].data_vars if v in post]
    names += [v for v in ("regimen_deviation",) if v in post and v not in names]
    return names


def _summed(ds, names: list[str]) -> np.ndarray:
    """(chain, draw) sum of the variables ``names`` over all their elements, as ArviZ stacks and sums them."""
    nc, nd = ds.sizes["chain"], ds.sizes["draw"]
    parts = [ds[n].transpose(*SAMPLE_DIMS, ...).values.reshape(nc, nd, -1) for n in names]
    return np.concatenate(parts, axis=-1).sum(axis=-1)


def _labels(da) -> list[str]:
    """Element labels as ArviZ prints them: ``name`` or ``name[coordinate, ...]``."""
    extra = [d for d in da.dims if d not in SAMPLE_DIMS]
    if not extra:
        return [str(da.name)]
    values = [da[d].values if d in da.coords else range(da.sizes[d]) for d in extra]
    return [f"{da.name}[{', '.join(str(v) for v in combo)}]" for combo in itertools.product(*values)]


def _diagnosis(prior: float, likelihood: float, threshold: float) -> str:
    if prior >= threshold and likelihood >= threshold:
        return "potential prior-data conflict"
    if prior > threshold > likelihood:
        return "potential strong prior / weak likelihood"
    return OK


def power_scaling(dt, threshold: float = THRESHOLD, var_names: list[str] | None = None) -> pd.DataFrame:
    """Per-parameter prior and likelihood sensitivity with the diagnosis: columns
    parameter, prior, likelihood, diagnosis (parameter labels as ArviZ prints them, e.g.
    ``log_hr[treated]``); ``psense_summary``'s numbers, rounded to :data:`ROUND_TO` decimals (module doc)."""
    from arviz_stats.base import array_stats

    for group in ("log_prior", "log_likelihood"):
        if group not in dt.children:
            raise ValueError(f"power-scaling needs the {group!r} group (fit() stores it; a fit loaded "
                             "with only its posterior group cannot be power-scaled)")
    post = dt["posterior"]
    names = var_names or sampled_parameters(dt)
    sense = {}
    for component, group, scaled in (("prior", "log_prior", list(dt["log_prior"].data_vars)),
                                     ("likelihood", "log_likelihood", ["y"])):
        total = _summed(dt[group], scaled)
        weights = []
        for a in ALPHAS:  # normalised importance weights of the power-scaled posterior (Pareto-smoothed)
            w = np.exp(array_stats.power_scale_lw(total, alpha=a, axis=(-2, -1)))
            weights.append(w / w.sum())
        values = []
        for name in names:
            v = post[name].transpose(..., *SAMPLE_DIMS).values
            s = array_stats.power_scale_sense(v, np.broadcast_to(weights[0], v.shape),
                                              np.broadcast_to(weights[1], v.shape), ALPHAS[0], ALPHAS[1],
                                              chain_axis=-2, draw_axis=-1)
            values.extend(np.ravel(s).tolist())
        sense[component] = values
    out = pd.DataFrame({"parameter": [label for name in names for label in _labels(post[name])], **sense})
    out["diagnosis"] = [_diagnosis(p, lk, threshold) for p, lk in zip(out["prior"], out["likelihood"])]
    out[["prior", "likelihood"]] = out[["prior", "likelihood"]].round(ROUND_TO)
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
