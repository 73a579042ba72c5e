"""hccbayes.models"""
from hccbayes.models.priors.response import (
                                             BetaPrior,
                                             MixturePrior,
                                             ResponsePriorSet,
                                             external_prior_set,
                                             informative,
                                             jeffreys,
                                             response_prior_sets,
                                             robust,
                                             uniform,
)
from hccbayes.models.response.beta_binomial import compare_rates, posterior, prob_greater, summarise
from hccbayes.models.response.counts import RateData, rates_from_cohort, rates_from_registry
from hccbayes.models.summary_hr import normal_update, survival_prior_sets
