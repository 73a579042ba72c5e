"""Pareto-smoothed importance sampling (PSIS) of one vector of log importance ratios, in numpy alone.

The algorithm and every constant are those of ArviZ's PSIS (``arviz_stats.base.array_stats.psislw``,
arviz-stats 1.3; Vehtari, Simpson, Gelman, Yao & Gabry 2024, JMLR 25(72)), step for step, so that
the weights and k̂ agree with it to rounding (tests/test_explore_psis.py compares them to 1e-12 on light- and
heavy-tailed ratios). It is written out here because importing arviz_stats takes about a second in a fresh
process (it imports scipy.stats, xarray and pandas), while ``hccbayes explore`` should answer in well under one;
and PSIS-LOO smooths each patient's ratios with it: a fit's LOO takes half of ``arviz_stats.loo``'s time (18 vs
36 ms for 70 patients; ArviZ's per-patient calls of scipy's log-sum-exp cost more than the arithmetic).

Steps: the M = ⌊3√(S / r_eff)⌋ largest of the S ratios (⌊S/5⌋ when S·r_eff ≤ 225) are the tail; a generalised Pareto
distribution is fitted to their excess over the largest ratio below them by Zhang & Stephens' (2009) empirical
Bayes estimate with a weakly informative prior on the shape k (Normal centred at 0.5, weight of 10 draws);
the tail ratios are replaced by that distribution's quantiles at (i − ½)/M, capped at the largest raw ratio, when
k̂ is finite; the log weights are normalised to log-sum-exp 0.
"""
from __future__ import annotations

import numpy as np

PRIOR_BS = 3  # the Zhang–Stephens grid's scale: b is searched up to about 1/(PRIOR_BS · first quartile)
PRIOR_K = 10  # weight (in draws) of the prior guess k = 0.5 in k̂
MIN_TAIL = 5


def logsumexp(x: np.ndarray) -> float:
    top = float(np.max(x))
    return float(np.log(np.sum(np.exp(x - top))) + top)


def tail_length(n: int, r_eff: float = 1.0) -> int:
    """How many of ``n`` ratios are smoothed, for draws of relative efficiency ``r_eff`` (ESS / n)."""
    return int(np.floor(3 * (n / r_eff) ** 0.5)) if n * r_eff > 225 else int(np.floor(n / 5))


def gpd_fit(excess: np.ndarray) -> tuple[float, float]:
    """(k̂, σ̂) of a generalised Pareto distribution fitted to the sorted positive ``excess`` (Zhang & Stephens'
    estimate on a grid of ``30 + ⌊√n⌋`` values of b = −k/σ, with the prior on k); (nan, nan) when the first quartile
    is not above the minimum (far from a generalised Pareto), k̂ = inf when the estimate is not a number."""
    n = len(excess)
    m = 30 + int(n**0.5)
    xstar = excess[int((n / 4 + 0.5) - 1)]  # the first quartile
    if xstar <= excess[0]:
        return float("nan"), float("nan")
    b = 1 - np.sqrt(m / (np.arange(1, m + 1, dtype=float) - 0.5))
    b /= PRIOR_BS * xstar
    b += 1 / excess[-1]
    k = np.mean(np.log1p(-b[:, None] * excess), axis=1)
    len_scale = n * (np.log(-b / k) - k - 1)  # the profile log likelihood of each b
    w = np.exp(len_scale - logsumexp(len_scale))
    keep = w >= 10 * np.finfo(float).eps  # negligible weights dropped
    if not np.all(keep):
        w, b = w[keep], b[keep]
    w /= w.sum()
    b_post = np.sum(b * w)
    kappa = np.mean(np.log1p(-b_post * excess))
    sigma = -kappa / b_post
    kappa = (n * kappa + PRIOR_K * 0.5) / (n + PRIOR_K)
    if np.isnan(kappa):
        return float("inf"), float("nan")
    return float(kappa), float(sigma)


def gpd_quantiles(probs: np.ndarray, k: float, sigma: float, mu: float) -> np.ndarray:
    if sigma <= 0:
        return np.full_like(probs, np.nan)
    if k == 0:
        return mu - sigma * np.log1p(-probs)
    return mu + sigma * np.expm1(-k * np.log1p(-probs)) / k


def psis_log_weights(log_ratios, r_eff: float = 1.0) -> tuple[np.ndarray, float]:
    """(normalised Pareto-smoothed log weights, k̂) of log importance ratios (any shape, flattened; the weights
    come back flat); ``r_eff``: the draws' relative efficiency, which sets the tail length (PSIS-LOO passes the
    posterior's). Raises ValueError when fewer than 5 ratios form the tail or the tail ratios are all equal."""
    lw = np.asarray(log_ratios, dtype=float).flatten()
    n = lw.size
    m = tail_length(n, r_eff)
    if m < MIN_TAIL:
        raise ValueError(f"{n} draws: Pareto smoothing needs at least {5 * MIN_TAIL} (a tail of {MIN_TAIL})")
    lw = lw - np.max(lw)
    order = np.argsort(lw)
    tail = order[n - m:]
    draws_tail = lw[tail]
    max_tail, min_tail = np.max(draws_tail), np.min(draws_tail)
    if abs(max_tail - min_tail) < np.finfo(float).tiny:
        raise ValueError("all tail values of the importance ratios are the same")
    cutoff = np.exp(lw[order[n - m - 1]])  # the largest ratio below the tail
    khat, sigma = gpd_fit(np.exp(draws_tail) - cutoff)
    if np.isfinite(khat):
        smoothed = np.log(gpd_quantiles(np.arange(0.5, m) / m, khat, sigma, cutoff))
        smoothed[smoothed > max_tail] = max_tail
        lw[tail] = smoothed
    lw -= logsumexp(lw)
    return lw, khat
