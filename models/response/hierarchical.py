"""PyMC beta-binomial models of response rates: independent groups (a check on the closed form) and a
hierarchical model partially pooling the regimens.

Hierarchical model (:func:`build_hier_beta_binomial`), for groups j = 1..J (the five regimens):

    mu    ~ Beta(mu_a, mu_b)                    population mean rate (default Beta(1, 1))
    kappa ~ LogNormal(log kappa_median, kappa_sigma)   concentration ("prior patients"; default median 10,
                                                 log-sd 1.5: 95% between 0.5 and 190, from near-independent
                                                 regimens to near-complete pooling)
    p_j   ~ Beta(mu · kappa, (1 − mu) · kappa)
    x_j   ~ Binomial(n_j, p_j)

The sampler sees the p_j **integrated out**: x_j ~ BetaBinomial(n_j, mu·kappa, (1 − mu)·kappa). A centred
p_j version showed divergences on a 70-patient cohort (the kappa–p funnel); marginalising removes the
funnel without changing the model. The regimen rates are then drawn exactly from their full conditional
p_j | mu, kappa, x ~ Beta(mu·kappa + x_j, (1 − mu)·kappa + n_j − x_j), one per posterior draw
(:func:`add_group_rates`, seeded).
Builders are pure functions (counts, priors) -> ``pm.Model``; :func:`sample` is the one place that calls
``pm.sample`` (to be replaced by the shared ``inference.fit``). No variable is called ``alpha``.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Mapping

import numpy as np
import pandas as pd
import pymc as pm

from hccbayes.models.priors.rates import BetaPrior
from hccbayes.models.response.counts import cohort_counts, response_indicators

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HierPriors:
    """Hyperpriors of the hierarchical beta-binomial model (JSON via ``asdict``)."""

    mu_a: float = 1.0
    mu_b: float = 1.0
    kappa_median: float = 10.0
    kappa_sigma: float = 1.5

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def _arrays(counts: Mapping[str, tuple[int, int]]) -> tuple[list[str], np.ndarray, np.ndarray]:
    groups = list(counts)
    x = np.array([counts[g][0] for g in groups], dtype=np.int64)
    n = np.array([counts[g][1] for g in groups], dtype=np.int64)
    if np.any(x < 0) or np.any(x > n):
        raise ValueError(f"need 0 <= events <= total in every group, got {dict(counts)}")
    return groups, x, n


def build_beta_binomial(counts: Mapping[str, tuple[int, int]], priors: Mapping[str, BetaPrior]) -> pm.Model:
    """Independent p_g ~ Beta(a_g, b_g), x_g ~ Binomial(n_g, p_g): the closed-form model, in PyMC."""
    groups, x, n = _arrays(counts)
    with pm.Model(coords={"group": groups}) as model:
        a = pm.Data("prior_a", np.array([priors[g].a for g in groups]), dims="group")
        b = pm.Data("prior_b", np.array([priors[g].b for g in groups]), dims="group")
        p = pm.Beta("p", alpha=a, beta=b, dims="group")
        pm.Binomial("events", n=pm.Data("n", n, dims="group"), p=p, observed=x, dims="group")
    return model


def build_hier_beta_binomial(counts: Mapping[str, tuple[int, int]], priors: HierPriors = HierPriors()) -> pm.Model:
    """Hierarchical beta-binomial across groups (module docstring); hyperparameters enter as data."""
    groups, x, n = _arrays(counts)
    with pm.Model(coords={"group": groups}) as model:
        mu_a = pm.Data("mu_a", priors.mu_a)
        mu_b = pm.Data("mu_b", priors.mu_b)
        log_kappa_mu = pm.Data("log_kappa_median", np.log(priors.kappa_median))
        kappa_sigma = pm.Data("kappa_sigma", priors.kappa_sigma)
        mu = pm.Beta("mu", alpha=mu_a, beta=mu_b)
        kappa = pm.LogNormal("kappa", mu=log_kappa_mu, sigma=kappa_sigma)
        pm.BetaBinomial("events", n=pm.Data("n", n, dims="group"), alpha=mu * kappa, beta=(1 - mu) * kappa,
                        observed=x, dims="group")
    return model


def add_group_rates(idata, counts: Mapping[str, tuple[int, int]], seed: int = 0):
    """Add ``p(chain, draw, group)`` to the posterior: exact draws from p_j | mu, kappa, x_j."""
    import xarray as xr

    groups, x, n = _arrays(counts)
    post = idata["posterior"]
    mu, kappa = post["mu"], post["kappa"]
    xs = xr.DataArray(x, dims="group", coords={"group": groups})
    ns = xr.DataArray(n, dims="group", coords={"group": groups})
    a, b = xr.broadcast(mu * kappa + xs, (1 - mu) * kappa + ns - xs)
    rng = np.random.default_rng(seed)
    post["p"] = a.copy(data=rng.beta(a.values, b.values))
    return idata


def regimen_counts(df: pd.DataFrame, study, outcome: str = "ORR", by: str | None = None) -> dict[str, tuple[int, int]]:
    """Events/total of ORR, DCR or a best-response category per regimen (or per ``by`` column)."""
    ind = response_indicators(df, study)
    if outcome not in ind:
        raise KeyError(f"unknown response outcome {outcome!r}; use one of {', '.join(ind)}")
    by = by or study.regimen_column
    counts = cohort_counts(df, ind[outcome], by)
    order = [r for r in study.regimens if r in counts] if by == study.regimen_column else list(counts)
    return {g: counts[g] for g in order + [g for g in counts if g not in order]}
