"""Summary-level Bayesian re-analysis of published hazard ratios (normal approximation, closed form).

A published HR with 95% CI (lo, hi) is read as a normal likelihood for the log HR:
y = ln HR, SE = (ln hi − ln lo) / (2 · 1.959964). Under a normal prior N(m0, s0²) on the log HR — the
contrast prior of a prior set (:mod:`hccbayes.models.priors.sets`), the same the survival models use — the
posterior is normal (normal–normal conjugacy):

    precision = 1/SE² + 1/s0²,   mean = (y/SE² + m0/s0²) / precision,   sd = precision^(-1/2).

Reported per prior set: posterior median HR exp(mean), 95% equal-tailed CrI exp(mean ± 1.959964·sd),
P(HR < 1) and P(HR < mcid) = Φ((ln t − mean)/sd), as tidy rows with
``source = "bayes:summary_normal:<prior set>"`` beside a ``published`` row. Consistency problems of
the printed figure (estimate outside its CI, a log-CI far from symmetric about ln HR) go into ``note``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from scipy import special

from hccbayes.data.published.registry import Entry, Registry
from hccbayes.models.priors.sets import DEFAULT_MCID, PriorSet, named_prior_sets
from hccbayes.models.priors.values import CI_PROB, two_sided_z
from hccbayes.models.response.beta_binomial import ROW_COLUMNS


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


def _row(**kw: Any) -> dict[str, Any]:
    row = dict.fromkeys(ROW_COLUMNS + ("entry",))
    row.update(kw)
    return row


def hr_rows(entry: Entry, p_entry: Entry | None, prior_sets: Mapping[str, PriorSet],
            mcid: float = DEFAULT_MCID, ci_prob: float = CI_PROB) -> list[dict[str, Any]]:
    """A ``published`` row (and its p) plus, per prior set, HR and P(HR < 1), P(HR < mcid) rows."""
    base = dict(analysis=f"cox_hr:{entry['model'] or 'reported'}", population=entry["population"],
                endpoint=entry["endpoint"], contrast=entry["factor"], entry=entry.id)
    note = figure_notes(entry.estimate, entry.lower, entry.upper) or None
    rows = [_row(**base, quantity="hr", source="published", estimate=entry.estimate, lower=entry.lower,
                 upper=entry.upper, interval="95% CI", note=note)]
    if p_entry is not None:
        rows.append(_row(**base, quantity="p_value", source="published", estimate=p_entry.p,
                         note=p_entry.raw))
    y, se = log_hr_likelihood(entry.estimate, entry.lower, entry.upper)
    rows.append(_row(**base, quantity="p_value", source="frequentist", estimate=wald_p(y, se),
                     note="two-sided Wald p of ln HR / SE, SE from the printed 95% CI"))
    for name, pr in prior_sets.items():
        post = normal_update(y, se, pr.contrast.mu, pr.contrast.sigma)
        med, lo, hi = post.hr_summary(ci_prob)
        src = dict(source=f"bayes:summary_normal:{name}", diagnostics_ok=True)
        rows.append(_row(**base, **src, quantity="hr", estimate=med, lower=lo, upper=hi,
                         interval=f"{ci_prob:.0%} ETI", note=f"log HR ~ N({post.mean:.4f}, {post.sd:.4f}^2)"))
        for t in dict.fromkeys((1.0, mcid)):
            rows.append(_row(**base, **src, quantity="prob_hr_lt", threshold=t, probability=post.prob_hr_below(t)))
    return rows


def published_hrs(reg: Registry, tables: Iterable[str] = ("t4", "t5", "text")) -> list[tuple[Entry, Entry | None]]:
    """Every published Cox HR (95% CI) with its p-value entry (same attributes), if printed."""
    out = []
    for e in reg.find(kind="hr_ci"):
        if e.table not in tables or e["measure"] != "cox_hr":
            continue
        keys = {k: e[k] for k in ("measure", "population", "endpoint", "model", "factor")}
        ps = reg.find(kind="p", table=e.table, **keys)
        out.append((e, ps[0] if ps else None))
    return out


def summary_hr_rows(reg: Registry, prior_sets: Mapping[str, PriorSet] | None = None,
                    mcid: float = DEFAULT_MCID, tables: Iterable[str] = ("t4", "t5", "text")) -> list[dict[str, Any]]:
    """Tidy rows for every published HR of ``tables`` under every prior set."""
    sets = prior_sets if prior_sets is not None else named_prior_sets(mcid)
    return [row for e, p in published_hrs(reg, tables) for row in hr_rows(e, p, sets, mcid)]
