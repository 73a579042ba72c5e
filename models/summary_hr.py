"""Summary-level Bayesian re-analysis of published hazard ratios (normal approximation, closed form).

A published HR with 95% CI (lo, hi) is read as a normal likelihood for the log HR:
y = ln HR, SE = (ln hi − ln lo) / (2 · 1.959964). Under a normal prior N(m0, s0²) on the log HR — the
contrast prior of a prior set (:mod:`hccbayes.models.priors.sets`), the same the survival models use — the
posterior is normal (normal–normal conjugacy):

    precision = 1/SE² + 1/s0²,   mean = (y/SE² + m0/s0²) / precision,   sd = precision^(-1/2).

Per prior set: posterior median HR exp(mean), 95% equal-tailed CrI exp(mean ± 1.959964·sd),
P(HR < 1) and P(HR < mcid) = Φ((ln t − mean)/sd); the run engine makes them comparison-table rows
(:func:`hccbayes.inference.engine.rows_counts.summary_rows`) beside the ``published`` row, with the
consistency problems of the printed figure (:func:`figure_notes`: estimate outside its CI, a log-CI far
from symmetric about ln HR) in ``note``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable

from scipy import special

from hccbayes.data.published.registry import Entry, Registry
from hccbayes.models.priors.values import CI_PROB, two_sided_z


@dataclass(frozen=True)
class NormalPosterior:
    """Normal posterior of a log HR."""

    mean: float
    sd: float

    def hr_summary(self, ci_prob: float = CI_PROB) -> tuple[float, float, float]:
        """Posterior median HR and equal-tailed ``ci_prob`` CrI."""
        z = two_sided_z(ci_prob)
        return math.exp(self.mean), math.exp(self.mean - z * self.sd), math.exp(self.mean + z * self.sd)

    def prob_hr_below(self, threshold: float) -> float:
        return float(special.ndtr((math.log(threshold) - self.mean) / self.sd))


def log_hr_likelihood(hr: float, lower: float, upper: float, ci_prob: float = CI_PROB) -> tuple[float, float]:
    """(y, SE) of the normal approximation: y = ln hr, SE = (ln upper − ln lower) / (2 z)."""
    if not (hr > 0 and 0 < lower < upper):
        raise ValueError(f"need HR > 0 and 0 < lower < upper, got {hr} ({lower}-{upper})")
    z = two_sided_z(ci_prob)
    return math.log(hr), (math.log(upper) - math.log(lower)) / (2 * z)


def normal_update(y: float, se: float, prior_mean: float, prior_sd: float) -> NormalPosterior:
    """Normal–normal conjugate update of a log HR."""
    prec = 1 / se**2 + 1 / prior_sd**2
    return NormalPosterior((y / se**2 + prior_mean / prior_sd**2) / prec, prec**-0.5)


def wald_p(y: float, se: float) -> float:
    """Two-sided Wald p-value 2 Φ(−|y|/SE)."""
    return float(2 * special.ndtr(-abs(y) / se))


def figure_notes(hr: float, lower: float, upper: float) -> str:
    """Consistency notes on a printed HR (95% CI): estimate outside the CI, asymmetric log-CI."""
    notes = []
    if not lower <= hr <= upper:
        notes.append(f"published estimate {hr:g} lies outside its CI ({lower:g}-{upper:g})")
    y, se = log_hr_likelihood(hr, lower, upper)
    asym = abs(y - (math.log(lower) + math.log(upper)) / 2) / se
    if asym > 0.25:
        notes.append(f"ln HR is {asym:.2f} SE from the log-CI midpoint (rounding alone gives < 0.25)")
    return "; ".join(notes)


def published_hrs(reg: Registry, tables: Iterable[str] | None = None) -> list[tuple[Entry, Entry | None]]:
    """Every published Cox HR (95% CI) of the registry's ``tables`` (default: all, the Results text
    included) with its p-value entry (same attributes), if printed."""
    keep = None if tables is None else set(tables)
    out = []
    for e in reg.find(kind="hr_ci"):
        if (keep is not None and e.table not in keep) or e["measure"] != "cox_hr":
            continue
        keys = {k: e[k] for k in ("measure", "population", "endpoint", "model", "factor")}
        ps = reg.find(kind="p", table=e.table, **keys)
        out.append((e, ps[0] if ps else None))
    return out
