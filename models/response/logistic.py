"""Two rates on the log-odds scale: the clinical prior sets of response comparisons, without reusing the data.

The beta-binomial sets (vague: Jeffreys, weakly informative: uniform, per group) put no belief on the
*difference* between two groups. The clinical sets do, and they must not take it from the data they analyse (the
earlier skeptical set centred both groups on the pooled rate of the same counts). Here the two rates are

    logit p_r = α,   logit p_c = α + β     (β: the log odds ratio, comparison vs reference)

with independent priors

* α ~ Normal(m_α, s_α): the reference group's log-odds; by default Normal(0, 1.5), 95% prior mass on rates
  5%–95% (no belief about the level, none taken from the data). A plan may give historical counts x/n for the
  reference group of an outcome (``reference_counts``): then α's prior is the robust mixture
  w·Normal(logit((x + ½)/(n + 1)), √(1/(x + ½) + 1/(n − x + ½))) + (1 − w)·Normal(0, 1.5), w = 0.5 by default — the
  historical rate, made robust in the RBesT way (Schmidli et al. 2014) so that data that conflict with it can
  overrule it;
* β by the comparison's role, calibrated like the survival sets (:mod:`hccbayes.models.priors.roles`), with the MCID
  as an odds ratio OR_m = 1/mcid (1.43 at mcid 0.7) and s = ln(OR_m)/z95: a **treatment** comparison (between
  arms) gets skeptical Normal(0, s) (5% prior mass beyond OR_m), enthusiastic Normal(ln OR_m, s) (5% on OR < 1),
  pessimistic Normal(−ln OR_m, s); any **other** comparison (e.g. AFP elevated vs decreased) the neutral shrinkage
  Normal(0, ln H / z975) under all three (H = the plan's prognostic_hr95, 3 by default, read as an odds ratio).

For an adverse event "enthusiastic" reads as the comparison arm's rate higher, as for a response: the set names
follow the response reading.

The posterior of (α, β) is computed on a grid (:func:`posterior_grid`: :data:`GRID` points per axis over the box
where its density exceeds 1e-20 of its maximum), by two-dimensional quadrature. P(p_c − p_r > t) is integrated
over β beyond the boundary β*(α) = logit(expit(α) + t) − α for every α of the grid (trapezoid rule, the boundary
cell split linearly): that is the exact probability the table reports, to quadrature error (< 1e-5, tested against
the conjugate beta-binomial limit). Rates, their difference, risk and odds ratio are summarised from
``n_draws`` seeded draws of the grid posterior (each grid cell jittered uniformly).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import interpolate, special

from hccbayes.models.priors.roles import CLINICAL
from hccbayes.models.priors.values import Z_ONE_SIDED_95 as Z95
from hccbayes.models.priors.values import Z_TWO_SIDED_95 as Z975
from hccbayes.models.response.beta_binomial import DEFAULT_DRAWS, RateComparison, RateSummary, draw_intervals

BASELINE = (0.0, 1.5)  # α ~ Normal(0, 1.5) without historical data
COARSE, GRID = 161, 201  # points per axis of the locating pass and of the fine grid (201: P(.) to 1e-7)
SPAN = 12.0  # half-width of the coarse grid in standard deviations of the likelihood and of the prior
LOG_FLOOR = 46.0  # the fine grid keeps every point whose density is above e^-46 ≈ 1e-20 of the maximum


@dataclass(frozen=True)
class LogOddsPriors:
    """Priors of α (a mixture of normals: weights, means, sds) and of β (mean, sd), with their description."""

    alpha_weights: tuple[float, ...]
    alpha_means: tuple[float, ...]
    alpha_sds: tuple[float, ...]
    beta_mean: float
    beta_sd: float
    description: str

    def log_alpha(self, a: np.ndarray) -> np.ndarray:
        comps = [np.log(w) - 0.5 * ((a - m) / s) ** 2 - np.log(s)
                 for w, m, s in zip(self.alpha_weights, self.alpha_means, self.alpha_sds)]
        return comps[0] if len(comps) == 1 else np.logaddexp.reduce(np.stack(comps), axis=0)


def log_odds_priors(kind: str, treatment: bool, mcid: float, prognostic_hr95: float = 3.0,
                    reference_counts: tuple[float, float] | None = None, weight: float = 0.5) -> LogOddsPriors:
    """The priors of a clinical set ``kind`` for one comparison (module docstring)."""
    if kind not in CLINICAL:
        raise ValueError(f"{kind!r} is not a clinical prior set ({', '.join(CLINICAL)})")
    if treatment:
        odds = 1.0 / mcid
        s = math.log(odds) / Z95
        mean = {"skeptical": 0.0, "enthusiastic": math.log(odds), "pessimistic": -math.log(odds)}[kind]
        beta_text = f"log OR ~ Normal({mean:.4g}, {s:.4g}) (treatment contrast, OR {odds:.3g} as the MCID)"
    else:
        mean, s = 0.0, math.log(prognostic_hr95) / Z975
        beta_text = f"log OR ~ Normal(0, {s:.4g}) (not a treatment contrast: neutral shrinkage)"
    if reference_counts is None:
        alpha = ((1.0,), (BASELINE[0],), (BASELINE[1],))
        alpha_text = f"reference log-odds ~ Normal({BASELINE[0]:g}, {BASELINE[1]:g})"
    else:
        x, n = reference_counts
        m, sd = math.log((x + 0.5) / (n - x + 0.5)), math.sqrt(1 / (x + 0.5) + 1 / (n - x + 0.5))
        alpha = ((weight, 1 - weight), (m, BASELINE[0]), (sd, BASELINE[1]))
        alpha_text = (f"reference log-odds ~ {weight:g}·Normal({m:.4g}, {sd:.4g}) [historical {x:g}/{n:g}] + "
                      f"{1 - weight:g}·Normal({BASELINE[0]:g}, {BASELINE[1]:g})")
    return LogOddsPriors(*alpha, mean, s, f"logistic: {alpha_text}; {beta_text}")


def _trapezoid(x: np.ndarray) -> np.ndarray:
    w = np.full(x.size, x[1] - x[0])
    w[[0, -1]] /= 2
    return w


def _log_posterior(a, b, counts, priors: LogOddsPriors) -> np.ndarray:
    (xr, nr), (xc, nc) = counts
    A, B = np.meshgrid(a, b, indexing="ij")
    loglik = (-xr * np.logaddexp(0, -A) - (nr - xr) * np.logaddexp(0, A)
              - xc * np.logaddexp(0, -(A + B)) - (nc - xc) * np.logaddexp(0, A + B))
    return loglik + priors.log_alpha(A) - 0.5 * ((B - priors.beta_mean) / priors.beta_sd) ** 2


def posterior_grid(counts, priors: LogOddsPriors) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(α axis, β axis, posterior density up to a constant) on a :data:`GRID` × :data:`GRID` grid. A coarse pass
    over the likelihood's and the prior's ranges (:data:`SPAN` SDs each) finds where the posterior has mass
    (log density within :data:`LOG_FLOOR` of its maximum); the fine grid covers that box and one coarse cell more."""
    (xr, nr), (xc, nc) = counts
    a_hat, se_a = math.log((xr + 0.5) / (nr - xr + 0.5)), math.sqrt(1 / (xr + 0.5) + 1 / (nr - xr + 0.5))
    c_hat, se_c = math.log((xc + 0.5) / (nc - xc + 0.5)), math.sqrt(1 / (xc + 0.5) + 1 / (nc - xc + 0.5))
    a_lo = min(a_hat - SPAN * se_a, *(m - SPAN * s for m, s in zip(priors.alpha_means, priors.alpha_sds)))
    a_hi = max(a_hat + SPAN * se_a, *(m + SPAN * s for m, s in zip(priors.alpha_means, priors.alpha_sds)))
    se_b = math.hypot(se_a, se_c)
    b_lo = min(c_hat - a_hat - SPAN * se_b, priors.beta_mean - SPAN * priors.beta_sd)
    b_hi = max(c_hat - a_hat + SPAN * se_b, priors.beta_mean + SPAN * priors.beta_sd)
    a, b = np.linspace(a_lo, a_hi, COARSE), np.linspace(b_lo, b_hi, COARSE)
    lp = _log_posterior(a, b, counts, priors)
    ia, ib = np.nonzero(lp > lp.max() - LOG_FLOOR)
    da, db = a[1] - a[0], b[1] - b[0]
    a = np.linspace(a[ia.min()] - da, a[ia.max()] + da, GRID)
    b = np.linspace(b[ib.min()] - db, b[ib.max()] + db, GRID)
    lp = _log_posterior(a, b, counts, priors)
    return a, b, np.exp(lp - lp.max())


def compare_rates_logistic(counts, reference: str, priors: LogOddsPriors, prior_set: str, thresholds=(0.0,),
                           n_draws: int = DEFAULT_DRAWS, seed: int = 0, ci_prob: float = 0.95) -> RateComparison:
    """The comparison of two groups' rates under ``priors`` (module docstring), as a
    :class:`~hccbayes.models.response.beta_binomial.RateComparison` (model ``logistic``)."""
    comparison = next(g for g in counts if g != reference)
    a, b, dens = posterior_grid((counts[reference], counts[comparison]), priors)
    wa = _trapezoid(a)  # the α-integrands are smooth: the trapezoid rule converges fast
    anti = interpolate.CubicSpline(b, dens, axis=1).antiderivative()
    whole = float(wa @ _row_masses(a, b, anti, None))
    prob = {float(t): float(wa @ _row_masses(a, b, anti, float(t))) / whole for t in dict.fromkeys((0.0, *thresholds))}
    mass = dens * wa[:, None] * _trapezoid(b)[None, :]
    total = mass.sum()
    rng = np.random.default_rng(seed)
    ia, ib = np.unravel_index(rng.choice(mass.size, size=n_draws, p=(mass / total).ravel()), mass.shape)
    alpha = a[ia] + rng.uniform(-0.5, 0.5, n_draws) * (a[1] - a[0])
    beta = b[ib] + rng.uniform(-0.5, 0.5, n_draws) * (b[1] - b[0])
    rates = np.stack([special.expit(alpha), special.expit(alpha + beta)])
    lo, med, hi = draw_intervals(rates, ci_prob)
    summaries = {g: RateSummary(float(rates[i].mean()), float(med[i]), float(lo[i]), float(hi[i]), ci_prob)
                 for i, g in enumerate((reference, comparison))}
    diff = rates[1] - rates[0]
    shown = {float(t): prob[float(t)] for t in thresholds}
    return RateComparison(reference, comparison, dict(counts), {}, {}, summaries, rates,
                          {t: float(np.mean(diff > t)) for t in shown}, prob[0.0], prior_set, seed, shown,
                          model="logistic", prior_text=priors.description)


def _row_masses(a, b, anti, t: float | None) -> np.ndarray:
    """Per α of the grid, ∫ density dβ over the β with expit(α + β) − expit(α) > t (``t`` None: over all β): the
    rows' cubic splines (``anti``: their antiderivatives) integrated exactly from the boundary
    β*(α) = logit(expit(α) + t) − α (fourth order in the grid step, whatever the boundary's place between nodes);
    0 where the boundary is beyond the grid."""
    end = anti(b[-1])
    if t is None:
        return end - anti(b[0])
    target = special.expit(a) + t
    start = np.full(a.size, b[0])
    inside = (target > 0.0) & (target < 1.0)
    start[inside] = np.clip(special.logit(target[inside]) - a[inside], b[0], b[-1])
    masses = end - np.diagonal(anti(start))
    return np.where(target < 1.0, masses, 0.0)
