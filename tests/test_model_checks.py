"""Model comparison and checks (issue 7, part 4): PSIS-LOO Weibull vs PEM, prior and posterior predictive
checks, and the checks of a run's fits as frames (and checks/*.csv).

References: the package's Kaplan-Meier estimator (hccbayes.inference.frequentist.survival, agreeing with R
survival, see test_survival_freq.py); exponential closed forms (median = ln 2 / rate); the PSIS-LOO identity
p_loo = lpd - elpd_loo (Vehtari, Gelman & Gabry 2017, eq. 15); normal quantiles for the prior HR interval.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from hccbayes.inference.checks.model_checks import PriorSampler, compare_models, loo_summary, prior_predictive
from hccbayes.inference.checks.ppc import censoring_times, km_on_grid, posterior_predictive_km
from hccbayes.inference.checks.run_checks import CheckedFit, run_checks
from hccbayes.inference.fitting.cache import write_atomic
from hccbayes.inference.fitting.fit import ModelCache, SamplerSettings, fit
from hccbayes.inference.sensitivity.power_scaling import power_scaling, sampled_parameters
from hccbayes.inference.frequentist.survival import km_at_times
from hccbayes.models.priors.sets import prior_set
from hccbayes.models.survival.design import SurvivalSpec, survival_data
from hccbayes.models.survival.families import family

SETTINGS = SamplerSettings(draws=500, tune=500, chains=2)


@pytest.fixture(scope="module")
def pfs_fits(study, cohort):
    cache = ModelCache()
    out = {}
    for model in ("weibull", "pem"):
        spec = SurvivalSpec("pfs", terms=("tki_ici",), model=model)
        data = survival_data(cohort, study, spec)
        out[model] = (fit(data, prior_set("weakly_informative"), spec, SETTINGS, seed=5, cache=cache), spec, data)
    return out


def test_km_on_grid_matches_the_r_validated_estimator(cohort):
    grid = np.array([0.5, 1.0, 2.0, 3.5, 5.0, 8.0, 12.0])
    ref = km_at_times(cohort, "pfs_months", "pfs_event", grid, group="arm")
    for arm, sub in cohort.groupby("arm"):
        mine = km_on_grid(sub["pfs_months"].to_numpy(float), sub["pfs_event"].to_numpy(float), grid)[0]
        theirs = ref[ref["group"] == arm]["surv"].to_numpy(float)
        assert mine == pytest.approx(theirs, abs=1e-12)  # same product-limit estimate: floating point


def test_km_on_grid_rows_with_ties_match_the_r_validated_estimator():
    """Many replicated data sets at once (rows), with tied times, tied events and censorings, a row without
    events and a row of one patient: each row is the package's R-validated KM of that row alone."""
    rng = np.random.default_rng(11)
    time = np.round(rng.exponential(6.0, size=(12, 40)))  # whole months: many ties
    event = (rng.uniform(size=time.shape) < 0.6).astype(float)
    event[3] = 0.0  # no events: S = 1 throughout
    grid = np.array([0.0, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0, 40.0])
    mine = km_on_grid(time, event, grid)
    for r in range(time.shape[0]):
        df = pd.DataFrame({"t": time[r], "d": event[r].astype(int)})
        theirs = km_at_times(df, "t", "d", grid)["surv"].to_numpy(float)
        assert mine[r] == pytest.approx(theirs, abs=1e-12)  # same product-limit estimate: floating point
    one = km_on_grid(np.array([[2.0]]), np.array([[1.0]]), grid)[0]
    assert one.tolist() == [1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]


def test_censoring_times_follow_the_observed_pattern():
    rng = np.random.default_rng(1)
    time = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    event = np.array([1, 0, 1, 0, 1, 0], float)
    c = censoring_times(time, event, 500, rng)
    assert (c[:, event == 0] == time[event == 0]).all()  # the censored keep their censoring time
    ev = c[:, event > 0]
    assert (ev >= time[event > 0]).all() and (ev <= time.max()).all()  # after the event, by the cut-off
    assert set(np.unique(ev)) <= {2.0, 4.0, 6.0}  # drawn from the reverse-KM support (censoring times)


@pytest.mark.parametrize("model", ["weibull", "pem"])
def test_simulated_times_have_the_closed_form_median(model, study, cohort):
    # exponential baseline (Weibull shape 1 / equal PEM hazards) with rate r and log HR 0: the median
    # of T is ln 2 / r. 200 draws x 70 patients = 14000 times: the sample median's relative SE is
    # ~ 1/(sqrt(14000) * f(m) * m) = 1.7%; tolerance 6% (3.5 SE).
    spec = SurvivalSpec("pfs", terms=("tki_ici",), model=model)
    data = survival_data(cohort, study, spec)
    rate, S = 0.2, 200
    post = {"log_hr": (("chain", "draw", "term"), np.zeros((1, S, 1)))}
    if model == "weibull":
        post["intercept"] = (("chain", "draw"), np.full((1, S), math.log(rate * data.reference_time)))
        post["weibull_shape"] = (("chain", "draw"), np.ones((1, S)))
    else:
        J = family(model).points(data, spec).size + 1
        post["log_hazard"] = (("chain", "draw", "interval"), np.full((1, S, J), math.log(rate)))
    t = family(model).simulate_times(xr.Dataset(post), data, spec, np.arange(S), np.random.default_rng(2))
    assert np.median(t) == pytest.approx(math.log(2) / rate, rel=0.06)


def test_loo_weibull_vs_pem(pfs_fits):
    cmp = compare_models({m: dt for m, (dt, _, _) in pfs_fits.items()})
    assert set(cmp["model"]) == {"weibull", "pem"} and cmp["elpd_diff"].iloc[0] == 0.0
    assert np.isfinite(cmp["dse"].iloc[1]) and cmp["dse"].iloc[1] > 0
    assert (cmp["max_k"] < 0.7).all() and (cmp["n_k_gt_0.7"] == 0).all()  # 70 patients, no influential k
    dt = pfs_fits["weibull"][0]
    s = loo_summary(dt)
    ll = dt["log_likelihood"]["y"].values.reshape(-1, s["n"])
    lpd = float(np.sum(np.log(np.mean(np.exp(ll), axis=0))))
    assert s["p_loo"] == pytest.approx(lpd - s["elpd_loo"], abs=1e-8)  # definition of p_loo


def test_loo_is_arviz_loo(pfs_fits):
    """LOO on the arrays (our numpy PSIS) equals ``arviz_stats.loo`` (the reference) to rounding: elpd, SE,
    p_loo, every patient's elpd and Pareto k, and the comparison arviz_stats.compare makes of the two; also for
    one chain (relative efficiency 1, another tail length). Tolerance 1e-12 relative: the same operations in
    another order (measured differences on 132 fits of a run: at most 6e-14 in elpd)."""
    from arviz_stats import compare, loo

    from hccbayes.inference.checks.model_checks import _loo

    one_chain = {m: xr.DataTree.from_dict({g: dt[g].to_dataset().isel(chain=[0])
                                           for g in ("posterior", "log_likelihood")})
                 for m, (dt, _, _) in pfs_fits.items()}
    close = dict(rel=1e-12, abs=1e-12)
    for fits in ({m: dt for m, (dt, _, _) in pfs_fits.items()}, one_chain):
        refs = {m: loo(dt, pointwise=True, var_name="y") for m, dt in fits.items()}
        for m, dt in fits.items():
            mine, ref = _loo(dt), refs[m]
            assert (mine.elpd, mine.se, mine.p) == pytest.approx((ref.elpd, ref.se, ref.p), **close)
            assert mine.good_k == ref.good_k and mine.n_data_points == ref.n_data_points
            assert mine.pareto_k.values == pytest.approx(ref.pareto_k.values, **close)
            assert mine.elpd_i.values == pytest.approx(ref.elpd_i.values, **close)
        cmp = compare_models(fits).set_index("model")
        theirs = compare(refs, round_to="none")
        for m in fits:
            assert cmp.loc[m, ["elpd_diff", "dse", "weight"]].to_numpy(float) == pytest.approx(
                theirs.loc[m, ["elpd_diff", "dse", "weight"]].to_numpy(float), **close)


def test_posterior_predictive_km_detects_a_wrong_model(pfs_fits):
    dt, spec, data = pfs_fits["weibull"]
    good = posterior_predictive_km(dt, data, spec, n_rep=200, seed=3)
    assert set(good.band.columns) >= {"group", "time", "observed", "lower", "median", "upper"}
    assert (good.summary["coverage"] >= 0.8).all()  # the fitted model reproduces the observed KM
    # the same posterior with every hazard multiplied by e (intercept + 1): replicated curves fall much
    # faster than the observed KM, so it leaves the 90% band over most of the grid
    bad = dt.copy(deep=True)
    post = bad["posterior"].to_dataset()
    bad["posterior"] = xr.DataTree(post.assign(intercept=post["intercept"] + 1.0))
    wrong = posterior_predictive_km(bad, data, spec, n_rep=200, seed=3)
    assert (wrong.summary["coverage"] < 0.5).all()


def test_prior_predictive_hr_interval(pfs_fits):
    dt, spec, data = pfs_fits["pem"]
    pp = prior_predictive(data, prior_set("weakly_informative"), spec, draws=2000, seed=4,
                          level_labels=("TKI", "TKI+ICI")).set_index(["quantity", "group"])
    # log HR ~ N(0, 1): 95% prior interval exp(+-1.96) = 0.141-7.10; the 2.5% quantile of 2000 draws has
    # SE ~0.06 on the log scale, tolerance 0.2 (> 3 SE)
    lo, hi = pp.loc[("hr", ""), ["lower", "upper"]]
    assert abs(math.log(lo) + 1.959964) < 0.2 and abs(math.log(hi) - 1.959964) < 0.2
    med = pp.loc[("median", "TKI")]
    assert 0 < med["lower"] < med["estimate"] < med["upper"]


@pytest.mark.parametrize("model", ["weibull", "pem"])
def test_prior_sampler_draws_what_pymc_draws_for_each_prior_set(pfs_fits, model):
    """One PriorSampler (one model build, one compile) for several prior sets gives, for each set, exactly the
    draws of pm.sample_prior_predictive on a model built for that set with the same seed (PyMC's function is
    the reference), in any order of the sets."""
    import pymc as pm

    _, spec, data = pfs_fits[model]
    sampler = PriorSampler(data, spec, prior_set("vague"), seed=9)
    for name in ("skeptical", "vague", "enthusiastic"):
        priors = prior_set(name)
        mine = sampler.draws(priors, 150)["posterior"].to_dataset()
        built = family(model).build(data, priors, spec)
        names = [v.name for v in built.free_RVs + built.deterministics]
        ref = pm.sample_prior_predictive(draws=150, model=built, var_names=names, random_seed=9)["prior"]
        assert set(mine.data_vars) == set(names)
        for v in names:
            np.testing.assert_array_equal(mine[v].values, ref[v].values)  # the same draws, to the bit


def test_run_checks_return_the_frames_they_write(tmp_path, pfs_fits, study):
    """The checks of a run's fits come back as frames — the run engine makes the power-scaling rows from
    them — and the same frames are written to checks/*.csv (8 significant digits)."""
    fits = []
    for model, (dt, spec, data) in pfs_fits.items():
        key = f"arm_pfs__{model}__weakly_informative"
        write_atomic(dt, tmp_path / "fits" / f"{key}.nc")
        fits.append(CheckedFit(key, "arm_pfs", "weakly_informative", data, spec, prior_set("weakly_informative"),
                               tmp_path / "fits" / f"{key}.nc"))
    frames = run_checks(fits, study, tmp_path / "checks", prior_sets=("weakly_informative",), n_rep=50,
                        prior_draws_n=200)
    assert set(frames) == {"loo", "psense", "ppc", "ppc_bands", "prior_predictive"}
    loo = frames["loo"]
    assert set(loo["model"]) == {"weibull", "pem"} and loo["dse"].notna().all()
    assert set(frames["ppc"]["group"]) == {"TKI", "TKI+ICI"}
    # fits in file-name order: the PEM's parameters first
    assert list(dict.fromkeys(frames["psense"]["model"])) == ["pem", "weibull"]
    for name, frame in frames.items():
        stored = pd.read_csv(tmp_path / "checks" / f"{name}.csv")
        assert list(stored.columns) == list(frame.columns) and len(stored) == len(frame), name
    ps = pd.read_csv(tmp_path / "checks" / "psense.csv")
    # written with 8 significant digits: the stored values are the frame's to a relative 1e-7
    assert ps["prior"].to_numpy() == pytest.approx(frames["psense"]["prior"].to_numpy(), rel=1e-7)

@pytest.mark.parametrize("model", ["weibull", "pem"])
def test_power_scaling_is_arviz_psense_summary(pfs_fits, model):
    """The power-scaling check is ArviZ's ``psense_summary`` computed with its array functions directly
    (inference/sensitivity/power_scaling.py): the same labels, sensitivities (to their 6 reported decimals, no
    tolerance) and diagnoses, on a fit whose PEM baseline has a vector of log hazards."""
    from arviz_stats import psense_summary

    dt = pfs_fits[model][0]
    ours = power_scaling(dt)
    names = sampled_parameters(dt)
    theirs = psense_summary(dt, var_names=names, threshold=0.05, prior_var_names=list(dt["log_prior"].data_vars),
                            likelihood_var_names=["y"], round_to=6)
    assert list(ours["parameter"]) == list(theirs.index)
    np.testing.assert_array_equal(ours[["prior", "likelihood"]].to_numpy(),
                                  theirs[["prior", "likelihood"]].to_numpy(dtype=float))
    assert list(ours["diagnosis"]) == list(theirs["diagnosis"])
