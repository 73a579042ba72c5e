"""Prior exploration without refits: a stored survival fit answered under other log-HR priors of one term.

:class:`Explorer` holds the log-HR draws of one term of a fit and the prior that term had
(:func:`hccbayes.models.priors.term_prior.stored_prior_set`). :meth:`Explorer.at` reweights the draws to a new
Normal prior of that term (:mod:`.reweight`: log ratios log p_new − log p_old of the term's log-HR, Pareto
smoothed; the other terms' priors are unchanged, so their ratios are 1) and summarises the HR under it. When
the Pareto k̂ exceeds :data:`~.reweight.K_HAT_MAX` (0.7) the reweighted answer is not trusted and, given a
``refit``, the model is refitted under the new prior — through the diagnostics gate and with the compiled model
reused — and the answer says so (``method`` "refitted" instead of "reweighted").

Uses: :func:`prior_grid` (a continuous grid of prior means or SDs), the tipping-point searches by reweighting
(:mod:`.explore_tipping`) and the ``hccbayes explore`` command. The named prior sets of a run's comparison table
stay full refits: nothing here changes them. This module imports neither PyMC nor ArviZ nor pandas (a fresh
``hccbayes explore`` answers in well under a second): the refit it calls is given to it (:mod:`.explore_refit`).
"""
from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from hccbayes.inference.fitting.diagnostics import Diagnostics
from hccbayes.inference.sensitivity.reweight import K_HAT_MAX, HRSummary, psis_weights, summarise
from hccbayes.models.priors.roles import RolePriorSet
from hccbayes.models.priors.term_prior import with_term_prior
from hccbayes.models.priors.values import CI_PROB, Normal

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Exploration:
    """The HR of one term under one prior: how it was obtained (``reweighted`` | ``refitted``) and why."""

    prior: Normal
    summary: HRSummary
    method: str
    note: str = ""

    def to_dict(self) -> dict:
        return {"prior": self.prior.to_dict(), "method": self.method, "note": self.note, **self.summary.to_dict()}


def log_hr_draws(dt, term: str) -> np.ndarray:
    """(chain, draw) log-HR draws of ``term`` from a fit's posterior."""
    post = dt["posterior"]
    if "log_hr" not in post.data_vars:
        raise KeyError("the fit has no log_hr in its posterior (not a survival fit with terms)")
    terms = [str(t) for t in post["term"].values]
    if term not in terms:
        raise KeyError(f"term {term!r} is not in the fit (its terms: {', '.join(terms)})")
    return np.asarray(post["log_hr"].sel(term=term).transpose("chain", "draw").values, dtype=float)


def gate_of(dt) -> Diagnostics:
    """The diagnostics a fit stored in its attrs (as :func:`hccbayes.inference.fitting.fit.diagnostics_of`, whose
    module imports xarray)."""
    return Diagnostics(**{k: v for k, v in json.loads(dt.attrs["diagnostics"]).items() if k != "ok"})


@dataclass
class Explorer:
    """One term of one fit under other priors (see the module docstring). ``refit``: prior set -> DataTree, fitted
    through the diagnostics gate (e.g. :class:`.explore_refit.Refitter`), or None (then a k̂ above the threshold is
    reported, with a warning, instead of refitted)."""

    draws: np.ndarray
    term: str
    priors: RolePriorSet
    thresholds: tuple[float, ...] = (1.0,)
    ci_prob: float = CI_PROB
    refit: Callable | None = None
    khat_max: float = K_HAT_MAX
    refits: dict = field(default_factory=dict)  # (mu, sigma) -> Exploration, so a prior is refitted once

    @property
    def stored(self) -> Normal:
        return self.priors.prior_of(self.term)

    def log_ratios(self, prior: Normal) -> np.ndarray:
        return np.asarray(prior.logpdf(self.draws) - self.stored.logpdf(self.draws), dtype=float)

    def at(self, prior: Normal) -> Exploration:
        """The HR of the term under ``prior`` (reweighted, or refitted when k̂ > ``khat_max`` and refit is set)."""
        if not (math.isfinite(prior.mu) and math.isfinite(prior.sigma) and prior.sigma > 0):
            raise ValueError(f"a log-HR prior needs a finite mean and a positive SD, got Normal({prior.mu}, {prior.sigma})")
        weights = psis_weights(self.log_ratios(prior))
        summary = summarise(self.draws, weights, self.thresholds, ci_prob=self.ci_prob)
        if weights.khat <= self.khat_max:
            return Exploration(prior, summary, "reweighted")
        why = f"Pareto k̂ {weights.khat:.2f} > {self.khat_max:g}"
        if self.refit is None:
            log.warning("%s under Normal(%g, %g): %s and no refit available; the reweighted summary is unreliable",
                        self.term, prior.mu, prior.sigma, why)
            return Exploration(prior, summary, "reweighted", f"{why}: unreliable, not refitted")
        key = (float(prior.mu), float(prior.sigma))
        if key not in self.refits:
            dt = self.refit(with_term_prior(self.priors, self.term, prior))
            diag = gate_of(dt)
            refitted = summarise(log_hr_draws(dt, self.term), None, self.thresholds, ci_prob=self.ci_prob)
            refitted = replace(refitted, khat=weights.khat)  # the k̂ that sent it to a refit
            gate = "" if diag.ok else f"; refit FAILED the diagnostics gate: {'; '.join(diag.problems())}"
            self.refits[key] = Exploration(prior, refitted, "refitted", f"{why}: refitted{gate}")
        return self.refits[key]


def explorer_of(dt, priors: RolePriorSet, term: str, **kwargs) -> Explorer:
    """An :class:`Explorer` of ``term`` in the fit ``dt`` whose prior set was ``priors``."""
    return Explorer(log_hr_draws(dt, term), term, priors, **kwargs)


def prior_grid(explorer: Explorer, *, means: Sequence[float] | None = None, sds: Sequence[float] | None = None,
               mean: float | None = None, sd: float | None = None) -> list[Exploration]:
    """The term's HR over a continuous prior grid: ``means`` at a fixed ``sd`` or ``sds`` at a fixed ``mean``
    (the unvaried one defaults to the stored prior's)."""
    if (means is None) == (sds is None):
        raise ValueError("give either means (a grid of prior means) or sds (a grid of prior SDs)")
    mean = explorer.stored.mu if mean is None else mean
    sd = explorer.stored.sigma if sd is None else sd
    priors = [Normal(float(m), float(sd)) for m in means] if means is not None else \
        [Normal(float(mean), float(s)) for s in sds]
    return [explorer.at(p) for p in priors]
