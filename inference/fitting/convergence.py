"""Rank-normalised split R-hat and bulk / tail ESS of many parameters at once.

These are ArviZ's estimators (Vehtari, Gelman, Simpson, Carpenter and Bürkner 2021, "Rank-normalization,
folding, and localization: an improved R-hat for assessing convergence of MCMC", Bayesian Analysis 16(2)) as
``arviz_stats`` computes them, the same operations in the same order, but on an (element, chain, draw) array:
the ranks and normal scores of all elements in one call, and the rank-normalised split chains computed once for
both R-hat and bulk ESS (ArviZ's array functions compute them separately, element by element). On a 70-patient
PEM fit (14 elements, 4 × 1000 draws) that is about 40% of the diagnostics' time.

The results equal ``arviz_stats``' own to the last bit on the arrays the tests try (tests/test_convergence.py);
arrays with a non-finite value, fewer than 4 draws or fewer than 2 chains are not for these functions
(:func:`usable`): the caller leaves them to ArviZ, which handles them its own way.
"""
from __future__ import annotations

import numpy as np

BLOM = 3 / 8  # the rank offset of ArviZ's back-transformation (Blom 1958)


def usable(ary: np.ndarray) -> bool:
    """Whether ``ary`` (element, chain, draw) is one these functions handle (else use ArviZ's)."""
    return ary.ndim == 3 and ary.shape[1] >= 2 and ary.shape[2] >= 4 and bool(np.isfinite(ary).all())


def _split_chains(ary: np.ndarray) -> np.ndarray:
    """(element, 2 × chain, draw // 2): each chain's first and last halves as chains."""
    half = ary.shape[2] // 2
    return np.concatenate((ary[:, :, :half], ary[:, :, -half:]), axis=1)


def _z_scale(ary: np.ndarray) -> np.ndarray:
    """Normal scores of each element's average ranks over all its chains and draws."""
    from scipy import special, stats  # here: the report imports the diagnostics' thresholds without scipy

    flat = ary.reshape(ary.shape[0], -1)
    rank = stats.rankdata(flat, method="average", axis=1)
    # the standard normal quantile function: what scipy.stats.norm.ppf computes (its _ppf), without the
    # distribution machinery's argument handling (a third of the time here)
    return special.ndtri((rank - BLOM) / (flat.shape[1] - 2 * BLOM + 1)).reshape(ary.shape)


def _rhat(ary: np.ndarray) -> np.ndarray:
    """Split-R-hat of each element of an (element, chain, draw) array."""
    n = ary.shape[2]
    chain_mean = np.mean(ary, axis=2)
    chain_var = np.var(ary, axis=2, ddof=1)
    between = n * np.var(chain_mean, axis=1, ddof=1)
    within = np.mean(chain_var, axis=1)
    return np.sqrt((between / within + n - 1) / n)


def _autocov(chains: np.ndarray) -> np.ndarray:
    """Autocovariance of each chain (rows of one element's (chain, draw) array) at every lag, by FFT, as
    ArviZ computes it (one transform per element, so that each gets ArviZ's bits)."""
    from scipy.fftpack import next_fast_len  # as ArviZ: 5-smooth lengths (scipy.fft's are others)

    n = chains.shape[-1]
    m = next_fast_len(2 * n)
    centred = chains - chains.mean(axis=-1, keepdims=True)
    spectrum = np.fft.rfft(centred, n=m, axis=-1)
    spectrum *= np.conjugate(spectrum)
    cov = np.fft.irfft(spectrum, n=m, axis=-1)[..., :n]
    cov /= n
    return cov


def _ess(ary: np.ndarray) -> np.ndarray:
    """Effective sample size of each element of an (element, chain, draw) array (Geyer's initial monotone
    sequence estimator, as ArviZ's ``_ess``)."""
    n_elem, n_chain, n_draw = ary.shape
    flat = ary.reshape(n_elem, -1)
    constant = (flat.max(axis=1) - flat.min(axis=1)) < np.finfo(float).resolution
    out = np.empty(n_elem)
    for e in range(n_elem):
        out[e] = ary[e].size if constant[e] else _geyer(ary[e], n_chain, n_draw)
    return out


def _geyer(chains: np.ndarray, n_chain: int, n_draw: int) -> float:
    """ESS of one element's (chain, draw) array: ArviZ's ``_ess``, step for step."""
    acov = _autocov(chains)
    chain_mean = chains.mean(axis=1)
    mean_var = np.mean(acov[:, 0]) * n_draw / (n_draw - 1.0)
    var_plus = mean_var * (n_draw - 1.0) / n_draw
    var_plus += np.var(chain_mean, axis=None, ddof=1)
    rho_hat_t = np.zeros(n_draw)
    rho_hat_even = 1.0
    rho_hat_t[0] = rho_hat_even
    rho_hat_odd = 1.0 - (mean_var - np.mean(acov[:, 1])) / var_plus
    rho_hat_t[1] = rho_hat_odd
    t = 1
    while t < (n_draw - 3) and (rho_hat_even + rho_hat_odd) > 0.0:  # Geyer's initial positive sequence
        rho_hat_even = 1.0 - (mean_var - np.mean(acov[:, t + 1])) / var_plus
        rho_hat_odd = 1.0 - (mean_var - np.mean(acov[:, t + 2])) / var_plus
        if (rho_hat_even + rho_hat_odd) >= 0:
            rho_hat_t[t + 1] = rho_hat_even
            rho_hat_t[t + 2] = rho_hat_odd
        t += 2
    max_t = t - 2
    if rho_hat_even > 0:
        rho_hat_t[max_t + 1] = rho_hat_even
    t = 1
    while t <= max_t - 2:  # Geyer's initial monotone sequence
        if (rho_hat_t[t + 1] + rho_hat_t[t + 2]) > (rho_hat_t[t - 1] + rho_hat_t[t]):
            rho_hat_t[t + 1] = (rho_hat_t[t - 1] + rho_hat_t[t]) / 2.0
            rho_hat_t[t + 2] = rho_hat_t[t + 1]
        t += 2
    ess = n_chain * n_draw
    tau_hat = -1.0 + 2.0 * np.sum(rho_hat_t[: max_t + 1]) + np.sum(rho_hat_t[max_t + 1: max_t + 2])
    tau_hat = max(tau_hat, 1 / np.log10(ess))
    return np.nan if np.isnan(rho_hat_t).any() else ess / tau_hat


def rhat_and_ess(ary: np.ndarray, prob: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rank-normalised split R-hat, bulk ESS, tail ESS) of each element of an (element, chain, draw) array.

    R-hat is the larger of the bulk and the folded (tail) values; bulk ESS is the ESS of the rank-normalised
    split chains (the same as R-hat's bulk); tail ESS is, as ArviZ defines it for a number ``prob``, the smaller
    ESS of the indicators of being at or below the ``1 - prob`` and the ``prob`` quantile (split chains)."""
    split = _split_chains(ary)
    z = _z_scale(split)
    median = np.median(split.reshape(split.shape[0], -1), axis=1)[:, None, None]
    rhat = np.maximum(_rhat(z), _rhat(_z_scale(abs(split - median))))
    flat = ary.reshape(ary.shape[0], -1)
    tails = [_ess(_split_chains((ary <= np.quantile(flat, p, axis=1)[:, None, None]).astype(float)))
             for p in sorted((prob, 1 - prob))]
    return rhat, _ess(z), np.minimum(*tails)
