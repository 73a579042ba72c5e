"""The Weibull model against independent references (issue 16 part 10).

* its log-density and log-survival per patient — the stored pointwise log-likelihood that PSIS-LOO uses
  (:meth:`hccbayes.models.survival.family.SurvivalFamily.pointwise_loglik` of the Weibull family) and the compiled model's own log-likelihood —
  against ``scipy.stats.weibull_min`` (a separate implementation of the Weibull distribution), and its sum at R's
  maximum-likelihood estimate against R's log-likelihood (survreg: the density of the observed times, as ours);
* recovery of every parameter on simulated data of known truth: each posterior mean within 3 posterior SD of the
  truth, and close to R ``survreg``'s maximum-likelihood fit of the same data (tests/reference/weibull_sim.csv,
  weibull_sim_survreg.csv; script and command in tests/reference/export_weibull_sim.py).

Parametrisation: H(t | x) = exp(b0 + (x − x̄)β) (t / t_ref)^k (weibull.py), i.e. scipy's weibull_min with shape
c = k and scale λ = t_ref · exp(−(b0 + (x − x̄)β) / k); survreg's log T = μ + xγ + σW gives k = 1/σ, β = −γ/σ and
b0 = k (log t_ref − μ) + x̄β.
"""
import importlib.util

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import stats

from hccbayes.inference.fitting.fit import ModelCache, SamplerSettings, fit
from hccbayes.models.priors.sets import prior_set
from hccbayes.models.survival import weibull
from hccbayes.models.survival.design import SurvivalSpec, survival_data

from r_reference import REF
from survival_sim import SimStudy

TERMS = ("x1", "x2", "x3")
WEIBULL = weibull.FAMILY


def pointwise(data, spec, log_hr, b0, k) -> np.ndarray:
    """The family's per-patient log-likelihood at one parameter point (one chain, one draw)."""
    post = xr.Dataset({"log_hr": (("chain", "draw", "term"), np.asarray(log_hr, float)[None, None]),
                       "intercept": (("chain", "draw"), np.array([[b0]], float)),
                       "weibull_shape": (("chain", "draw"), np.array([[k]], float))})
    return WEIBULL.pointwise_loglik(post, data, spec)[0]


def _export_module():
    spec = importlib.util.spec_from_file_location("export_weibull_sim", REF / "export_weibull_sim.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


EXPORT = _export_module()


@pytest.fixture(scope="module")
def sim():
    df = pd.read_csv(REF / "weibull_sim.csv", dtype={"id": str})
    spec = SurvivalSpec("os", terms=TERMS, model="weibull")
    return spec, survival_data(df, SimStudy(), spec)


@pytest.fixture(scope="module")
def mle(sim):
    """R survreg's maximum-likelihood estimate in the model's parametrisation, and R's log-likelihood."""
    _, data = sim
    ref = pd.read_csv(REF / "weibull_sim_survreg.csv", comment="#")
    k = float(ref.loc[ref.quantity == "shape", "value"].iloc[0])
    mu = float(ref.loc[ref.quantity == "aft_intercept", "value"].iloc[0])
    beta = np.array([float(ref[(ref.term == t) & (ref.quantity == "ph_coef")]["value"].iloc[0]) for t in TERMS])
    se = np.array([float(ref[(ref.term == t) & (ref.quantity == "ph_se")]["value"].iloc[0]) for t in TERMS])
    b0 = k * (np.log(data.reference_time) - mu) + data.center @ beta
    loglik = float(ref.loc[ref.quantity == "loglik", "value"].iloc[0])
    return {"log_hr": beta, "intercept": b0, "weibull_shape": k, "se": se, "loglik": loglik}


def test_export_is_fresh():
    assert EXPORT.export_text() == (REF / "weibull_sim.csv").read_text(), (
        "tests/reference/weibull_sim.csv no longer matches tests/survival_sim.py: re-run the commands at the top of "
        "tests/reference/export_weibull_sim.py and commit the new outputs")


def scipy_loglik(data, log_hr, b0, k) -> np.ndarray:
    """Per patient: log f(t) for an event, log S(t) for a censored time, from scipy.stats.weibull_min."""
    eta = data.centred(data.X) @ log_hr
    scale = data.reference_time * np.exp(-(b0 + eta) / k)
    dist = stats.weibull_min(k, scale=scale)
    return np.where(data.event == 1, dist.logpdf(data.time), dist.logsf(data.time))


def _points(mle):
    """R's MLE and four points around it (each parameter moved by up to a few SE, the shape by up to 30%)."""
    rng = np.random.default_rng(16)
    out = [(mle["log_hr"], mle["intercept"], mle["weibull_shape"])]
    for _ in range(4):
        out.append((mle["log_hr"] + rng.normal(0, 0.3, 3), mle["intercept"] + rng.normal(0, 0.5),
                    mle["weibull_shape"] * rng.uniform(0.7, 1.3)))
    return out


def test_pointwise_log_density_and_survival_match_scipy(sim, mle):
    """The stored per-patient log-likelihood (what LOO reads) is scipy's log density (events) and log survival
    (censored) at every point: 1e-9 absolute (both are closed forms in double precision; values are O(1-10))."""
    spec, data = sim
    for log_hr, b0, k in _points(mle):
        ours = pointwise(data, spec, log_hr, b0, k)
        np.testing.assert_allclose(ours, scipy_loglik(data, log_hr, b0, k), rtol=0, atol=1e-9)


def test_compiled_model_log_likelihood_matches_scipy(sim, mle):
    """The log-likelihood the sampler uses (the PyMC model's observed term, per patient), at the same points:
    1e-9 absolute."""
    spec, data = sim
    model = WEIBULL.build(data, prior_set("vague"), spec)
    per_patient = model.compile_logp(vars=model.observed_RVs, sum=False)
    start = model.initial_point()
    for log_hr, b0, k in _points(mle):
        point = {**start, "log_hr": log_hr, "intercept": np.array(b0), "weibull_shape_log__": np.array(np.log(k))}
        (ours,) = per_patient(point)
        np.testing.assert_allclose(ours, scipy_loglik(data, log_hr, b0, k), rtol=0, atol=1e-9)


def test_log_likelihood_at_the_mle_is_rs(sim, mle):
    """Σ per-patient log-likelihood at R's MLE = R's maximised log-likelihood. R stops when the relative change of
    the log-likelihood is below 1e-9 and the optimum is flat, so the two agree to well under 1e-6 relative."""
    spec, data = sim
    ours = pointwise(data, spec, mle["log_hr"], mle["intercept"], mle["weibull_shape"]).sum()
    assert ours == pytest.approx(mle["loglik"], rel=1e-6)


def test_every_parameter_is_recovered_and_close_to_survreg(sim, mle):
    """Truth of the simulation (survival_sim.weibull_ph: H(t|x) = 0.05 t^1.3 exp(xβ), β = (−0.5, 0.3, 0.7)): each
    posterior mean within 3 posterior SD of it (a 3-SD miss has probability 0.003 per parameter); and within 0.25
    posterior SD of R's MLE (n = 1500: the weakly informative priors move the mean by ~ SE²/prior variance, under
    0.05 SD; Monte Carlo error of a mean from ~4000 draws ~ 0.02 SD; mean − mode of a slightly skewed posterior
    ~ 0.05 SD)."""
    spec, data = sim
    dt = fit(data, prior_set("weakly_informative"), spec, SamplerSettings(), seed=16, cache=ModelCache())
    post = dt["posterior"]
    truth = {"log_hr": np.array(EXPORT.TRUE_BETA), "weibull_shape": EXPORT.TRUE_SHAPE,
             "intercept": np.log(EXPORT.SCALE_RATE) + EXPORT.TRUE_SHAPE * np.log(data.reference_time)
             + data.center @ np.array(EXPORT.TRUE_BETA)}
    for name in ("log_hr", "intercept", "weibull_shape"):
        mean = post[name].mean(("chain", "draw")).values
        sd = post[name].std(("chain", "draw")).values
        assert np.all(np.abs(mean - truth[name]) < 3 * sd), (name, mean, truth[name], sd)
        assert np.all(np.abs(mean - mle[name]) < 0.25 * sd), (name, mean, mle[name], sd)
    # the posterior SD of the log-HRs is the asymptotic SE of the MLE (n = 1500): within 10%
    np.testing.assert_allclose(post["log_hr"].std(("chain", "draw")).values, mle["se"], rtol=0.10)
