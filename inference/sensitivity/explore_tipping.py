"""Tipping-point searches of a stored fit by reweighting: the run engine's searches
(:func:`hccbayes.inference.sensitivity.tipping.tipping_searches`) with an :class:`~.explore.Explorer` answering each
evaluation instead of a refit (refitting only where k̂ > 0.7). An opt-in (``hccbayes explore --tipping``): the run's
own searches refit at every evaluation.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from hccbayes.inference.sensitivity.explore import Explorer
from hccbayes.inference.sensitivity.tipping import searched_prior, tipping_searches
from hccbayes.models.priors.values import Normal


@dataclass
class ReweightEvaluator:
    """x -> P(HR_term < threshold) by reweighting (refitting where k̂ > 0.7) — the opt-in evaluator of a tipping-point
    search (:func:`hccbayes.inference.sensitivity.tipping.tipping_searches`), kinds as its refitting counterpart
    :class:`~hccbayes.inference.sensitivity.tipping.MCMCEvaluator`: ``mean`` (prior Normal(x, sigma)) or ``mcid``
    (prior Normal(0, −ln(x)/z95)). Only the explored term's prior moves (a refitting search moves the contrast
    prior of every treatment term: the same where, as in a two-arm comparison, there is one). ``mcse`` keeps each
    probability's Monte Carlo SE, ``methods`` how it was obtained, ``failed`` the refits that failed the gate."""

    explorer: Explorer
    kind: str
    sigma: float = float("nan")
    threshold: float = 1.0
    mcse: dict = field(default_factory=dict)
    methods: dict = field(default_factory=dict)
    failed: dict = field(default_factory=dict)

    def __call__(self, x: float) -> float:
        prior = Normal(*searched_prior(self.kind, x, self.sigma))
        res = self.explorer.at(prior)
        self.mcse[float(x)] = res.summary.mcse[self.threshold]
        self.methods[float(x)] = res.method
        if "FAILED" in res.note:
            self.failed[float(x)] = res.note
        return res.summary.below[self.threshold]


def reweighted_tipping_points(explorer: Explorer, mcid: float, threshold: float = 1.0,
                              targets: tuple[float, ...] = (0.95, 0.5), max_evals: int = 12):
    """The tipping points of P(HR_term < threshold) (prior mean and skeptical MCID, as the run engine searches them)
    by reweighting ``explorer``'s fit: (the searches, how many evaluations were refits). An opt-in: the run's own
    searches refit at every evaluation."""
    evaluators: list[ReweightEvaluator] = []

    def make(kind: str, sigma: float) -> ReweightEvaluator:
        evaluators.append(ReweightEvaluator(explorer, kind, sigma, threshold))
        return evaluators[-1]

    points = tipping_searches(make, explorer.draws.size, mcid=mcid, targets=targets, max_evals=max_evals)
    return points, sum(m == "refitted" for ev in evaluators for m in ev.methods.values())
