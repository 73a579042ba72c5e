"""Importance reweighting of posterior draws to another prior, Pareto-smoothed (PSIS), and the weighted
summaries of a log hazard ratio.

Draws θ_s from the posterior under a prior p_old are reweighted to the posterior under p_new with importance
ratios r_s = p_new(θ_s) / p_old(θ_s) (the likelihood cancels). Raw ratios can have a heavy right tail when
p_new puts its mass where p_old had little; Pareto smoothing (Vehtari, Simpson, Gelman, Yao & Gabry 2024,
JMLR 25(72)) replaces the largest ratios by the quantiles of a generalised Pareto fitted to the tail, and its
shape estimate k̂ says whether the result can be trusted: k̂ ≤ 0.7 reliable (with S draws, the threshold
min(1 − 1/log10 S, 0.7) is lower than 0.7 only below 2,200 draws: 0.70 is used, as the issue asks), above it
the reweighted estimate is not trusted and the caller refits (:mod:`hccbayes.inference.sensitivity.explore`).

The smoothing is ArviZ's (``arviz_stats.base.array_stats.psislw``) as written out in numpy in :mod:`.psis` (the same
numbers, without arviz_stats' second of imports): normalised log weights (log-sum-exp 0) and k̂. ``r_eff`` (the
relative efficiency of the draws, which sets the tail length) is 1: the nutpie fits of the survival models have a
bulk ESS of the log-HR near the number of draws.

Weighted summaries (:func:`summarise`): median and equal-tailed ``ci_prob`` interval of the HR from the weighted
empirical distribution of the log HR (midpoint interpolation between sorted draws: with equal weights this is
the Hazen quantile, within 1/S of numpy's default), P(HR < t) = Σ w_s·1[θ_s < ln t] with its Monte Carlo
standard error √Σ w_s²(1[θ_s < ln t] − p)² (the delta-method variance of a self-normalised importance
estimate, for independent draws) and the importance-sampling ESS 1/Σ w_s².
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from hccbayes.inference.sensitivity.psis import psis_log_weights

K_HAT_MAX = 0.7  # above this Pareto k̂ the reweighted posterior is not trusted: refit


@dataclass(frozen=True)
class Weights:
    """Normalised importance weights of the (flattened) draws and the Pareto k̂ of their ratios; k̂ is −inf
    when the ratios are all equal (the new prior is the old one up to a constant: the weights are uniform)."""

    weights: np.ndarray
    khat: float

    @property
    def ess(self) -> float:
        """Importance-sampling effective sample size 1/Σ w²."""
        return float(1.0 / np.sum(self.weights**2))

    @property
    def reliable(self) -> bool:
        return self.khat <= K_HAT_MAX


def uniform(n: int) -> Weights:
    return Weights(np.full(n, 1.0 / n), float("-inf"))


def psis_weights(log_ratios) -> Weights:
    """PSIS weights of the log importance ratios log p_new(θ_s) − log p_old(θ_s) (any shape; flattened)."""
    lr = np.asarray(log_ratios, dtype=float).ravel()
    if not np.all(np.isfinite(lr)):
        raise ValueError("log importance ratios must be finite (a new prior with zero density at a draw?)")
    if np.ptp(lr) <= 1e-12 * max(1.0, float(np.max(np.abs(lr)))):
        return uniform(lr.size)
    lw, khat = psis_log_weights(lr)
    w = np.exp(lw - np.max(lw))
    return Weights(w / w.sum(), float(khat))


def weighted_quantiles(x: np.ndarray, w: np.ndarray, probs) -> np.ndarray:
    """Quantiles of the weighted empirical distribution of ``x`` (midpoint interpolation, see module doc)."""
    order = np.argsort(x, kind="stable")
    xs, ws = x[order], w[order]
    mid = np.cumsum(ws) - ws / 2
    return np.interp(np.asarray(probs, dtype=float), mid, xs)


@dataclass(frozen=True)
class HRSummary:
    """Posterior summary of one hazard ratio: median and ``ci_prob`` equal-tailed interval, P(HR < t) with its
    Monte Carlo SE for each threshold t, the Pareto k̂ and the ESS of the weights behind it."""

    median: float
    lower: float
    upper: float
    ci_prob: float
    below: dict[float, float] = field(default_factory=dict)  # threshold -> P(HR < threshold)
    mcse: dict[float, float] = field(default_factory=dict)  # threshold -> its Monte Carlo SE
    khat: float = float("-inf")
    ess: float = float("nan")

    def to_dict(self) -> dict:
        return {"median": self.median, "lower": self.lower, "upper": self.upper, "ci_prob": self.ci_prob,
                "below": {str(k): v for k, v in self.below.items()},
                "mcse": {str(k): v for k, v in self.mcse.items()}, "khat": self.khat, "ess": self.ess}


def summarise(log_hr, weights: Weights | None = None, thresholds=(1.0,), *, ci_prob: float) -> HRSummary:
    """:class:`HRSummary` of log-HR draws (any shape; flattened) under ``weights`` (None: equal weights)."""
    x = np.asarray(log_hr, dtype=float).ravel()
    weights = weights or uniform(x.size)
    w = weights.weights
    if w.size != x.size:
        raise ValueError(f"{w.size} weights for {x.size} draws")
    tail = (1 - ci_prob) / 2
    lo, med, hi = np.exp(weighted_quantiles(x, w, (tail, 0.5, 1 - tail)))
    below, mcse = {}, {}
    for t in thresholds:
        ind = (x < math.log(t)).astype(float)
        p = float(np.sum(w * ind))
        below[float(t)] = p
        mcse[float(t)] = float(np.sqrt(np.sum(w**2 * (ind - p) ** 2)))
    return HRSummary(float(med), float(lo), float(hi), ci_prob, below, mcse, weights.khat, weights.ess)
