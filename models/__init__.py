"""hccbayes.models"""
from hccbayes.models.priors.rates import BetaPrior, MixturePrior, informative, jeffreys, robust, uniform
from hccbayes.models.priors.sets import PriorSet, external_prior_set, named_prior_sets, prior_set
from hccbayes.models.response.beta_binomial import compare_rates, posterior, prob_greater, summarise
from hccbayes.models.response.counts import RateData, rates_from_cohort, rates_from_registry
from hccbayes.models.summary_hr import normal_update
