"""hccbayes.models

The names below are imported on first use (PEP 562), so that importing one submodule — e.g. the fit
cache for `hccbayes explore` — does not import every sibling (statsmodels, scipy.stats, ...)."""
import importlib

_LAZY = {
    "BetaPrior": "hccbayes.models.priors.rates", "MixturePrior": "hccbayes.models.priors.rates", "informative": "hccbayes.models.priors.rates", "jeffreys": "hccbayes.models.priors.rates", "robust": "hccbayes.models.priors.rates", "uniform": "hccbayes.models.priors.rates",
    "PriorSet": "hccbayes.models.priors.sets", "external_prior_set": "hccbayes.models.priors.sets", "named_prior_sets": "hccbayes.models.priors.sets", "prior_set": "hccbayes.models.priors.sets",
    "compare_rates": "hccbayes.models.response.beta_binomial", "posterior": "hccbayes.models.response.beta_binomial", "prob_greater": "hccbayes.models.response.beta_binomial", "summarise": "hccbayes.models.response.beta_binomial",
    "RateData": "hccbayes.models.response.counts", "rates_from_cohort": "hccbayes.models.response.counts", "rates_from_registry": "hccbayes.models.response.counts",
    "normal_update": "hccbayes.models.summary_hr",
}
__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
