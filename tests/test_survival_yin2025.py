"""Survival models on the bundled yin2025 pseudo-patient cohort against the frequentist references.

Reference: Cox (Efron) and Kaplan–Meier estimates computed on the same cohort by
hccbayes.inference (which agree with R survival, see test_survival_freq.py). With the vague prior
set the posterior median log-HR should be close to the Cox estimate: within 0.1 for the PEM (its
baseline, about four events per interval, is nearly as flexible as Cox's) and 0.15 for the Weibull (a
parametric baseline may shift the estimate); these are the issue's tolerances.

The PEM is held to that for every term of the paper's 9-term multivariable PFS model. The Weibull is held
to it for the terms the paper reports as findings there (arm, ANRI) only: for sn_high, nlr_high and lmr_high
the Weibull *maximum-likelihood* estimate on this cohort is itself 0.25, 0.19 and 0.18 from Cox (Cox SEs
0.55, 0.50, 0.32) — a property of a Weibull baseline on these pseudo-patient times, not of the sampler, that
no prior or sampler setting can remove; ``test_weibull_multivariable_matches_its_mle`` checks those terms
against the Weibull MLE instead.
"""
import json
from pathlib import Path

import pytest
from pandas import read_csv

from hccbayes.inference import cox_fit, study_km
from hccbayes.inference.fitting.fit import ModelCache, fit
from hccbayes.models.priors.sets import prior_set
from hccbayes.models.survival.design import SurvivalSpec, survival_data
from hccbayes.models.survival.quantities import median_survival, standardised_curves, summarise

PFS_MULTI = ("tki_ici", "crp_high", "anri_high", "lmr_high", "nlr_high", "plr_high", "pni_high", "sn_high",
             "siri_high")  # Table 4 PFS multivariate rows (the paper's p < 0.1 selection)
TOL = {"pem": 0.1, "weibull": 0.15}
REF = Path(__file__).resolve().parent / "reference"


@pytest.fixture(scope="module")
def cache():
    return ModelCache()


CASES = [("pfs", ("tki_ici",)), ("os", ("tki_ici",)), ("os", ("afp_gt400",)), ("pfs", PFS_MULTI)]
WEIBULL_CHECKED = {PFS_MULTI: ("tki_ici", "anri_high")}  # see the module docstring


@pytest.mark.parametrize("model", ["pem", "weibull"])
@pytest.mark.parametrize("endpoint,terms", CASES)
def test_vague_posterior_matches_cox(study, cohort, cache, model, endpoint, terms):
    ep = study.endpoint(endpoint)
    cox = cox_fit(cohort, ep.time, ep.event, list(terms)).set_index("term")
    spec = SurvivalSpec(endpoint, terms=terms, model=model)
    dt = fit(survival_data(cohort, study, spec), prior_set("vague"), spec, seed=20250212, cache=cache)
    med = dt["posterior"]["log_hr"].median(("chain", "draw"))
    checked = WEIBULL_CHECKED.get(terms, terms) if model == "weibull" else terms
    for term in checked:
        assert abs(float(med.sel(term=term)) - cox.loc[term, "coef"]) < TOL[model], term
    # every yin2025 fit with default settings passes the diagnostics gate
    diag = json.loads(dt.attrs["diagnostics"])
    assert diag["divergences"] == 0 and diag["max_rhat"] <= 1.01
    assert diag["min_ess_bulk"] >= 400 and diag["min_ess_tail"] >= 400


@pytest.mark.parametrize("endpoint", ["pfs", "os"])
def test_pem_median_per_arm_close_to_km(study, cohort, cache, endpoint):
    spec = SurvivalSpec(endpoint, terms=("tki_ici",), model="pem")
    data = survival_data(cohort, study, spec)
    dt = fit(data, prior_set("vague"), spec, seed=20250212, cache=cache)
    medians = median_survival(standardised_curves(dt, data, spec, "tki_ici"))
    km = study_km(cohort, study, endpoint, by="arm").set_index("group")["median"]
    for level, arm in ((0, "TKI"), (1, "TKI+ICI")):
        post = summarise(medians.sel(level=level))["estimate"]
        # issue tolerance: within 10% of the KM median (PEM smooths the KM step function)
        assert abs(post - km[arm]) / km[arm] < 0.10, (arm, post, km[arm])


def test_weibull_multivariable_matches_its_mle(study, cohort, cache):
    """The 9-term Weibull PFS model against its own maximum-likelihood fit, R survreg (script and output in
    tests/reference/weibull_reference.R, yin2025_weibull_pfs_multi.csv), converted there to the PH scale.

    Tolerances: posterior median log-HRs within 0.1 of the MLE (a vague-prior posterior median and the mode
    of a skewed likelihood differ by a fraction of the SE, plus Monte Carlo error; measured ≤ 0.045 over
    four seeds); posterior SD within 15% of the asymptotic SE (measured ≤ 6%); the shape's posterior median
    within 0.1 of the MLE 1.470 (measured 1.43: the shape posterior is right-skewed).
    """
    ref = read_csv(REF / "yin2025_weibull_pfs_multi.csv", comment="#")
    mle = ref[ref.quantity == "ph_coef"].set_index("term")["value"]
    se = ref[ref.quantity == "ph_se"].set_index("term")["value"]
    shape = float(ref.loc[ref.quantity == "shape", "value"].iloc[0])
    spec = SurvivalSpec("pfs", terms=PFS_MULTI, model="weibull")
    dt = fit(survival_data(cohort, study, spec), prior_set("vague"), spec, seed=20250212, cache=cache)
    post = dt["posterior"]["log_hr"]
    med = post.median(("chain", "draw")).to_series()
    sd = post.std(("chain", "draw")).to_series()
    assert (med - mle[list(PFS_MULTI)]).abs().max() < 0.1
    assert (sd / se[list(PFS_MULTI)] - 1).abs().max() < 0.15
    assert abs(float(dt["posterior"]["weibull_shape"].median()) - shape) < 0.1
