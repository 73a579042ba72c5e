"""Dirichlet–multinomial model of the best-response categories (CR/PR/SD/PD) per group, in closed form.

With a Dirichlet(a_1..a_K) prior and category counts y_1..y_K the posterior is Dirichlet(a + y).
ORR and DCR are sums of category probabilities; by the aggregation property of the Dirichlet their
marginals are Beta(sum_{k in S} (a_k + y_k), sum_{k not in S} (a_k + y_k)) exactly — the same Beta
posterior :mod:`hccbayes.models.response` gives for the aggregated counts under the prior
Beta(sum_{k in S} a_k, sum_{k not in S} a_k). Draws (seeded) give the joint distribution of all
categories and derived rates, e.g. for ORR and DCR differences between arms.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import xarray as xr

from hccbayes.models.priors_response import BetaPrior

CATEGORIES = ("CR", "PR", "SD", "PD")
DERIVED = {"ORR": ("CR", "PR"), "DCR": ("CR", "PR", "SD")}


@dataclass(frozen=True)
class DirichletPosterior:
    """Dirichlet(concentration) over ``categories`` for one group."""

    categories: tuple[str, ...]
    concentration: tuple[float, ...]

    def marginal(self, subset: Sequence[str]) -> BetaPrior:
        """Exact Beta marginal of the summed probability of ``subset`` (aggregation property)."""
        a = np.asarray(self.concentration)
        inside = np.isin(self.categories, list(subset))
        return BetaPrior(float(a[inside].sum()), float(a[~inside].sum()), f"marginal {'+'.join(subset)}")

    def mean(self) -> dict[str, float]:
        a = np.asarray(self.concentration)
        return dict(zip(self.categories, (a / a.sum()).tolist()))

    def rvs(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.dirichlet(self.concentration, size=size)


def dirichlet_posterior(counts: Mapping[str, int], prior: float | Mapping[str, float] = 1.0,
                        categories: Sequence[str] = CATEGORIES) -> DirichletPosterior:
    """Posterior Dirichlet(a + y). ``prior`` is a symmetric concentration or one value per category."""
    a = [prior if isinstance(prior, (int, float)) else prior[c] for c in categories]
    if min(a) <= 0:
        raise ValueError(f"Dirichlet concentrations must be > 0, got {a}")
    y = [int(counts.get(c, 0)) for c in categories]
    if min(y) < 0:
        raise ValueError(f"category counts must be >= 0, got {y}")
    return DirichletPosterior(tuple(categories), tuple(float(ai + yi) for ai, yi in zip(a, y)))


def dirichlet_draws(posteriors: Mapping[str, DirichletPosterior], n_draws: int = 20_000, seed: int = 0,
                    derived: Mapping[str, Sequence[str]] = DERIVED) -> xr.Dataset:
    """Draws of category probabilities ``prob(group, category, draw)`` and derived rates
    ``<name>(group, draw)`` (ORR, DCR) for each group, from one seeded generator."""
    rng = np.random.default_rng(seed)
    groups = list(posteriors)
    cats = posteriors[groups[0]].categories
    probs = np.stack([posteriors[g].rvs(rng, n_draws).T for g in groups])  # group, category, draw
    ds = xr.Dataset({"prob": (("group", "category", "draw"), probs)},
                    coords={"group": groups, "category": list(cats), "draw": np.arange(n_draws)},
                    attrs={"seed": seed})
    for name, subset in derived.items():
        ds[name] = ds["prob"].sel(category=list(subset)).sum("category")
    return ds


def response_counts_from_table(levels: Mapping[str, Mapping[str, int]]) -> dict[str, dict[str, int]]:
    """Reshape {level: {group: count}} (as Table 3 prints it) to {group: {level: count}} for the categories."""
    groups = {g for v in levels.values() for g in v}
    return {g: {c: levels[c][g] for c in CATEGORIES if c in levels} for g in sorted(groups)}
