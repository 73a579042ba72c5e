"""Bayesian rows of the groups a survival analysis compares: per group (a level of its strata, or a regimen)
the standardised median survival, RMST to the horizon and S(t) at the landmark times; per contrast (each
group vs the reference, then the pairs the plan asks for) their differences with P(Δ > t), and for a pair
of two non-reference arms its hazard ratio exp(β_a − β_b).

Times are in the study's unit (``unit``). A median not reached within the follow-up is +inf (a result,
counted in the note); the RMST horizon is stated in its rows (``horizon``) and, when it lies beyond a
group's follow-up, flagged as an extrapolation (:func:`hccbayes.inference.engine.groups.horizon_for`).
"""
from __future__ import annotations

import numpy as np

from hccbayes.inference.engine.groups import Groups
from hccbayes.inference.engine.table import Rows
from hccbayes.models.survival import quantities as q

ETI = "95% ETI"


def summary_row(rows: Rows, common: dict, x, quantity: str, unit: str, **kw) -> None:
    """Posterior median and 95% ETI of ``x``; the share of draws not reached (±inf) or undefined in the note."""
    s = q.summarise(x)
    v = np.asarray(x.values, float)
    notes = [common.get("note", "")]
    if np.isinf(v).any():
        notes.append(f"not reached within the follow-up in {np.mean(np.isinf(v)):.1%} of draws")
    if np.isnan(v).any():
        notes.append(f"undefined (neither median reached) in {np.mean(np.isnan(v)):.1%} of draws")
    rows.add(**{**common, "note": "; ".join(filter(None, notes))}, quantity=quantity, estimate=s["estimate"],
             lower=s["lower"], upper=s["upper"], interval=ETI, unit=unit, **kw)


def _probabilities(rows: Rows, common: dict, x, quantity: str, thresholds, unit: str, **kw) -> None:
    for t in thresholds:
        rows.add(**common, quantity=quantity, probability=q.prob_above(x, t), threshold=t, direction=">",
                 unit=unit, **kw)


def group_rows(rows: Rows, common: dict, a, curves, groups: list[str], dim: str, horizon: float,
               follow_up: float, unit: str, km_ids) -> None:
    """Per group: median, RMST(horizon) and S(landmark); ``curves`` has dims (``dim``, chain, draw, time)."""
    med = q.median_survival(curves, limit=follow_up)
    rm_ = q.rmst(curves, horizon)
    for i, g in enumerate(groups):
        sel = {dim: curves[dim].values[i]}
        summary_row(rows, common, med.sel(sel), "median", unit, group=g, registry_id=km_ids(g))
        summary_row(rows, common, rm_.sel(sel), "rmst", unit, group=g, horizon=horizon)
        for t in a.landmarks:
            summary_row(rows, common, q.survival_at(curves.sel(sel), t), "survival", "proportion", group=g,
                        horizon=t)
    return med, rm_


def contrast_rows(rows: Rows, common: dict, a, dt, curves, med, rm_, groups: Groups, labels: dict[str, str],
                  horizon: float, unit: str) -> None:
    """Differences between the groups of every contrast, and P(Δ > t) at the plan's thresholds."""
    for one, zero in groups.pairs:
        contrast = labels.get((one, zero), f"{one} vs {zero}")
        pick = lambda x, g: x.sel(group=g)
        if zero != groups.reference and one != groups.reference and groups.single is None:
            beta = dt["posterior"]["log_hr"]
            on = [t for t, v in groups.settings[one].items() if v]
            off = [t for t, v in groups.settings[zero].items() if v]
            x = np.exp(beta.sel(term=on).sum("term") - beta.sel(term=off).sum("term"))
            summary_row(rows, common, x, "hr", "HR", contrast=contrast)
            for t in a.thresholds.get("hr", ()):
                rows.add(**common, contrast=contrast, quantity="hr", probability=q.prob_below(x, t), threshold=t,
                         direction="<", unit="HR")
        for name, x, h in (("median_diff", pick(med, one) - pick(med, zero), np.nan),
                           ("rmst_diff", pick(rm_, one) - pick(rm_, zero), horizon)):
            summary_row(rows, common, x, name, unit, contrast=contrast, horizon=h)
            _probabilities(rows, common, x, name, a.thresholds.get(name, ()), unit, contrast=contrast, horizon=h)
        for t in a.landmarks:
            x = q.survival_at(pick(curves, one), t) - q.survival_at(pick(curves, zero), t)
            summary_row(rows, common, x, "survival_diff", "proportion", contrast=contrast, horizon=t)
            _probabilities(rows, common, x, "survival_diff", (0.0,), "proportion", contrast=contrast, horizon=t)
