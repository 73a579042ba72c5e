"""Summary-level Bayesian re-analysis of published hazard ratios (normal approximation, closed form).

A published HR with 95% CI (lo, hi) is read as a normal likelihood for the log HR:
y = ln HR, SE = (ln hi − ln lo) / (2 · 1.959964). Under a normal prior N(m0, s0²) on the log HR the
posterior is normal (normal–normal conjugacy):

    precision = 1/SE² + 1/s0²,   mean = (y/SE² + m0/s0²) / precision,   sd = precision^(-1/2).

Per prior set: posterior median HR exp(mean), 95% equal-tailed CrI exp(mean ± 1.959964·sd),
P(HR < 1) and P(HR < mcid) = Φ((ln t − mean)/sd); the run engine makes them comparison-table rows
(:func:`hccbayes.inference.engine.rows_counts.summary_rows`) beside the ``published`` row, with the
consistency problems of the printed figure (:func:`figure_notes`: estimate outside its CI, a log-CI far
from symmetric about ln HR) in ``note``.

The survival prior sets are defined here as plain data by :func:`survival_prior_sets` only until the
shared ``hccbayes.models.priors.survival`` provides them; every function takes the mapping as an argument.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable

from scipy import special, stats

from hccbayes.data.published.registry import Entry, Registry
from hccbayes.models.priors.survival import PRIOR_SET_NAMES, prior_set

Z975 = float(stats.norm.ppf(0.975))  # 1.959964...
Z95 = float(stats.norm.ppf(0.95))  # 1.644854...
DEFAULT_MCID = 0.7
CI_PROB = 0.95


def survival_prior_sets(mcid: float = DEFAULT_MCID) -> dict[str, dict[str, Any]]:
    """Normal priors on the log HR, as plain data {name: {"mean", "sd", "description"}}.

    - ``vague``: N(0, 10²) — practically flat over every HR that occurs.
    - ``weakly_informative``: N(0, 1²) — 95% prior mass on HR in (0.14, 7.1), wider than any credible
      treatment or prognostic effect, so it only tames absurd values from tiny subgroups.
    - ``skeptical``: N(0, σ²) with σ = −ln(mcid)/1.644854 so that P(HR < mcid) = 0.05 (Spiegelhalter,
      Freedman & Parmar 1994); σ = 0.2168 for mcid = 0.7.
    - ``enthusiastic``: N(ln mcid, σ²), same σ: centred on the clinically important benefit,
      P(HR > 1) = 0.05.
    - ``pessimistic``: N(−ln mcid, σ²), same σ: centred on harm of the same size, P(HR < 1) = 0.05.
    """

    if not 0 < mcid < 1:
        raise ValueError(f"mcid must be an HR in (0, 1), got {mcid}")
    out = {}
    for name in PRIOR_SET_NAMES:
        ps = prior_set(name, mcid=mcid)
        out[name] = {"mean": ps.contrast.mu, "sd": ps.contrast.sigma, "description": ps.description}
    return out


@dataclass(frozen=True)
class NormalPosterior:
    """Normal posterior of a log HR."""

    mean: float
    sd: float

    def hr_summary(self, ci_prob: float = CI_PROB) -> tuple[float, float, float]:
        """Posterior median HR and equal-tailed ``ci_prob`` CrI."""
        z = Z975 if ci_prob == CI_PROB else float(stats.norm.ppf(0.5 + ci_prob / 2))
        return math.exp(self.mean), math.exp(self.mean - z * self.sd), math.exp(self.mean + z * self.sd)

    def prob_hr_below(self, threshold: float) -> float:
        return float(special.ndtr((math.log(threshold) - self.mean) / self.sd))


def log_hr_likelihood(hr: float, lower: float, upper: float, ci_prob: float = CI_PROB) -> tuple[float, float]:
    """(y, SE) of the normal approximation: y = ln hr, SE = (ln upper − ln lower) / (2 z)."""
    if not (hr > 0 and 0 < lower < upper):
        raise ValueError(f"need HR > 0 and 0 < lower < upper, got {hr} ({lower}-{upper})")
    z = Z975 if ci_prob == CI_PROB else float(stats.norm.ppf(0.5 + ci_prob / 2))
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
