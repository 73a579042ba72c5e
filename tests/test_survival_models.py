"""Bayesian survival models: likelihood identities, recovery of known truth, compile reuse, quantities.

Reference values are closed forms or the simulation's known parameters; tolerances are stated with
their reason next to each assertion. Seeds are fixed.
"""
import json
import math
from dataclasses import replace

import numpy as np
import pytest
import xarray as xr
from scipy import integrate, stats

from hccbayes.inference.fitting.cache import fit_cached
from hccbayes.inference.fitting.diagnostics import diagnose
from hccbayes.inference.fitting.fit import SAMPLE_STATS, ModelCache, SamplerSettings, fit
from hccbayes.models.priors.sets import PRIOR_SET_NAMES, PriorSet, prior_set
from hccbayes.models.survival import intervals
from hccbayes.models.survival.design import SpecError, SurvivalSpec, survival_data
from hccbayes.models.survival.families import family
from hccbayes.models.survival.quantities import (
    hazard_ratios,
    median_survival,
    time_grid,
    prob_below,
    rmst,
    standardised_curves,
    survival_curve,
)

from survival_sim import SimStudy, weibull_ph

TRUE_BETA = np.array([-0.5, 0.3, 0.7])
TRUE_SHAPE = 1.3


@pytest.fixture(scope="module")
def sim():
    df = weibull_ph(1500, TRUE_BETA, TRUE_SHAPE, 0.05, seed=11)
    spec = SurvivalSpec("os", terms=("x1", "x2", "x3"))
    return df, survival_data(df, SimStudy(), spec)


@pytest.fixture(scope="module")
def cache():
    return ModelCache()


def _interval(dt, name, q=(0.05, 0.95)):
    v = dt["posterior"][name].values
    return np.quantile(v.reshape(-1, *v.shape[2:]), q, axis=0)


def test_weibull_recovers_truth(sim, cache):
    df, data = sim
    spec = SurvivalSpec("os", terms=("x1", "x2", "x3"))
    dt = fit(data, prior_set("weakly_informative"), spec, SamplerSettings(), seed=5, cache=cache)
    lo, hi = _interval(dt, "log_hr")
    # known truth of the simulation: the 90% posterior intervals cover the true log-HRs and shape
    assert np.all((lo <= TRUE_BETA) & (TRUE_BETA <= hi)), (lo, hi)
    slo, shi = _interval(dt, "weibull_shape")
    assert slo <= TRUE_SHAPE <= shi


def test_pem_recovers_same_log_hrs(sim, cache):
    df, data = sim
    spec = SurvivalSpec("os", terms=("x1", "x2", "x3"), model="pem", n_intervals=8)
    dt = fit(data, prior_set("weakly_informative"), spec, SamplerSettings(), seed=5, cache=cache)
    lo, hi = _interval(dt, "log_hr")
    assert np.all((lo <= TRUE_BETA) & (TRUE_BETA <= hi)), (lo, hi)


def _constrained(model, names):
    """A function of a value-variable point returning the constrained values of ``names``."""
    outs = model.replace_rvs_by_values([model[n] for n in names])
    return model.compile_fn(outs, inputs=model.value_vars, on_unused_input="ignore", point_fn=True)


def _random_point(model, rng):
    point = {}
    for rv in model.free_RVs:
        value_var = model.rvs_to_values[rv]
        shape = model.initial_point()[value_var.name].shape
        point[value_var.name] = rng.normal(0, 0.5, size=shape)
    return point


def _draws(**values):
    """One posterior draw (one chain, one draw) of the named variables, as a posterior Dataset."""
    return xr.Dataset({k: (("chain", "draw", *[f"{k}_dim{i}" for i in range(np.ndim(v))]), np.asarray(v)[None, None])
                       for k, v in values.items()})


@pytest.mark.parametrize("baseline", ["independent", "rw"])
def test_pem_sufficient_statistics_equal_patient_level(sim, baseline):
    """Σ over pattern × interval of the aggregated log-likelihood equals Σ over patients (to 1e-8)."""
    df, data = sim
    spec = SurvivalSpec("os", terms=("x1", "x2", "x3"), model="pem", baseline=baseline)
    model = family("pem").build(data, prior_set("vague"), spec)
    loglik = model.compile_logp(vars=model.observed_RVs, sum=True)
    to_draw = _constrained(model, ["log_hr", "log_hazard"])
    rng = np.random.default_rng(3)
    for _ in range(5):
        point = _random_point(model, rng)
        log_hr, log_hazard = to_draw(point)
        patient = family("pem").pointwise_loglik(_draws(log_hr=log_hr, log_hazard=log_hazard), data, spec)
        assert patient.shape == (1, data.n)
        assert abs(float(loglik(point)) - float(patient.sum())) < 1e-8


def test_weibull_pointwise_equals_model_logp(sim):
    df, data = sim
    spec = SurvivalSpec("os", terms=("x1", "x2", "x3"))
    model = family("weibull").build(data, prior_set("vague"), spec)
    loglik = model.compile_logp(vars=model.observed_RVs, sum=True)
    to_draw = _constrained(model, ["log_hr", "intercept", "weibull_shape"])
    point = _random_point(model, np.random.default_rng(4))
    log_hr, b0, k = to_draw(point)
    ll = family("weibull").pointwise_loglik(_draws(log_hr=log_hr, intercept=b0, weibull_shape=k), data, spec)
    assert abs(float(loglik(point)) - float(ll.sum())) < 1e-8  # same formula, float rounding only


def test_prior_grid_reuses_one_compile(sim):
    df, data = sim
    small = survival_data(df.iloc[:200], SimStudy(), SurvivalSpec("os", terms=("x1",)))
    spec = SurvivalSpec("os", terms=("x1",))
    cache = ModelCache()
    means = {}
    for name in PRIOR_SET_NAMES:
        dt = fit(small, prior_set(name), spec, SamplerSettings(draws=300, tune=300, chains=2), seed=1, cache=cache)
        means[name] = float(dt["posterior"]["log_hr"].mean())
        assert dt.attrs["prior_set"] == name
    assert cache.compiles == 1
    # the hyperparameters really changed: each clinical prior pulls the posterior mean from the vague
    # posterior mean towards its own prior mean (normal-normal shrinkage; the data are the same)
    for name in ("skeptical", "enthusiastic", "pessimistic"):
        prior_mu = prior_set(name).contrast.mu
        lo, hi = sorted((means["vague"], prior_mu))
        assert lo < means[name] < hi, (name, means)


def test_fit_groups_and_attrs(sim, cache):
    df, data = sim
    spec = SurvivalSpec("os", terms=("x1", "x2", "x3"))
    dt = fit(data, prior_set("skeptical"), spec, SamplerSettings(draws=200, tune=200, chains=2), seed=2, cache=cache)
    for group in ("posterior", "sample_stats", "log_likelihood", "log_prior", "observed_data", "constant_data"):
        assert group in dt.children
    assert dt["log_likelihood"]["y"].shape == (2, 200, data.n)
    assert "5% prior probability of HR < 0.7" in dt.attrs["prior_description"]
    # the stored prior set is the one given, with the baseline priors the Weibull family used written out
    stored = PriorSet.from_json(dt.attrs["priors"])
    assert stored == family("weibull").effective_priors(prior_set("skeptical"))
    assert replace(stored, baseline={}) == prior_set("skeptical")

    # only the documented sample statistics are kept (each stored variable costs file-writing time)
    assert set(dt["sample_stats"].data_vars) == set(SAMPLE_STATS)


def test_diagnose_equals_arviz_per_variable(sim, cache):
    """The stacked-array diagnostics are ArviZ's own per-variable az.rhat / az.ess / az.bfmi, exactly
    (the same arviz_stats functions applied element by element: no tolerance). Short chains, so the
    numbers are far from any threshold's rounding."""
    import arviz as az
    from arviz_base import rcParams

    _, data = sim
    spec = SurvivalSpec("os", terms=("x1", "x2", "x3"))
    dt = fit(data, prior_set("vague"), spec, SamplerSettings(draws=150, tune=150, chains=3), seed=4, cache=cache)
    names = list(dt["posterior"].data_vars)
    got = diagnose(dt, names)

    def extreme(ds, fn):
        return float(fn(np.concatenate([np.ravel(ds[v].values) for v in names])))
    assert got.max_rhat == extreme(az.rhat(dt, var_names=names).to_dataset(), np.max)
    assert got.min_ess_bulk == extreme(az.ess(dt, var_names=names, method="bulk").to_dataset(), np.min)
    assert got.min_ess_tail == extreme(az.ess(dt, var_names=names, method="tail",
                                              prob=rcParams["stats.ci_prob"]).to_dataset(), np.min)
    assert got.min_bfmi == float(np.min(az.bfmi(dt)["energy"].values))
    assert (got.chains, got.draws) == (3, 150)


def test_a_fit_file_with_every_nutpie_statistic_still_loads(sim, cache, tmp_path):
    """Fit files written before the sample statistics were trimmed carry about twenty of them: they stay
    valid cache entries (the hash covers the inputs, not the layout) and load as 'cached'."""
    _, data = sim
    spec = SurvivalSpec("os", terms=("x1", "x2", "x3"))
    args = (data, prior_set("vague"), spec, SamplerSettings(draws=100, tune=100, chains=2), 3, cache)
    first = fit_cached("k", tmp_path, *args)
    path = tmp_path / "k.nc"
    dt = xr.open_datatree(path, engine="h5netcdf").load()
    stats = dt["sample_stats"].to_dataset()
    dt["sample_stats"] = xr.DataTree(stats.assign(step_size_bar=stats["step_size"], tuning=stats["diverging"]))
    path.unlink()
    dt.to_netcdf(path, engine="h5netcdf")
    again = fit_cached("k", tmp_path, *args, groups=("posterior", "sample_stats"))
    assert again.status == "cached"
    assert "step_size_bar" in again.dt["sample_stats"]
    assert again.diagnostics == first.diagnostics


def test_prior_sets_definitions():
    s = prior_set("skeptical", mcid=0.7)
    # closed form: P(HR < 0.7) = Φ((ln 0.7 − 0)/σ) = 0.05 by construction
    assert stats.norm.cdf(math.log(0.7), s.contrast.mu, s.contrast.sigma) == pytest.approx(0.05, abs=1e-12)
    e = prior_set("enthusiastic", mcid=0.8)
    assert stats.norm.sf(0.0, e.contrast.mu, e.contrast.sigma) == pytest.approx(0.05, abs=1e-12)
    p = prior_set("pessimistic", mcid=0.8)
    assert stats.norm.cdf(0.0, p.contrast.mu, p.contrast.sigma) == pytest.approx(0.05, abs=1e-12)
    for name in PRIOR_SET_NAMES:
        assert PriorSet.from_json(prior_set(name).to_json()) == prior_set(name)
    with pytest.raises(KeyError):
        prior_set("optimistic")


def test_spec_errors(sim):
    df, data = sim
    with pytest.raises(SpecError, match="unknown term"):
        survival_data(df, SimStudy(), SurvivalSpec("os", terms=("nope",)))
    one_level = df.assign(x2=1.0)
    with pytest.raises(SpecError, match="single level"):
        survival_data(one_level, SimStudy(), SurvivalSpec("os", terms=("x2",)))
    with pytest.raises(SpecError, match="unknown survival model"):
        SurvivalSpec("os", model="cox")
    with pytest.raises(SpecError, match="n_intervals must be at least 1"):
        SurvivalSpec("os", model="pem", n_intervals=0)


def test_default_pem_intervals_hold_about_four_events_each(sim):
    """Without n_intervals the PEM gets round(events / 4) intervals, 6 to 20; the cut points are event-time
    quantiles, so each interval holds 4 ± 1 events (ties aside; the simulation has none)."""
    assert [intervals.automatic_n_intervals(e) for e in (0, 10, 25, 33, 51, 80, 10**6)] == [6, 6, 6, 8, 13, 20, 20]
    df, _ = sim
    small = df.iloc[:60]  # 60 patients of the simulation: 33 to 80 events between the bounds
    data = survival_data(small, SimStudy(), SurvivalSpec("os", terms=("x1",), model="pem"))
    cuts = family("pem").points(data, SurvivalSpec("os", terms=("x1",), model="pem"))
    assert cuts.size + 1 == intervals.automatic_n_intervals(data.events)
    d, _ = intervals.interval_stats(data.time, data.event, cuts)
    assert d.sum() == data.events and abs(d.sum(axis=0) - data.events / (cuts.size + 1)).max() <= 1


class _FakeTree(dict):
    pass


def _fake_weibull_tree(b0, k, log_hr):
    import xarray as xr

    post = xr.Dataset({"intercept": (("chain", "draw"), [[b0]]), "weibull_shape": (("chain", "draw"), [[k]]),
                       "log_hr": (("chain", "draw", "term"), [[log_hr]])},
                      coords={"chain": [0], "draw": [0], "term": [f"x{j + 1}" for j in range(len(log_hr))]})
    return _FakeTree(posterior=post)


def test_weibull_median_and_rmst_closed_form(sim):
    df, data = sim
    spec = SurvivalSpec("os", terms=("x1",))
    d1 = survival_data(df, SimStudy(), spec)
    b0, k, beta = -0.7, 1.4, -0.4
    dt = _fake_weibull_tree(b0, k, [beta])
    # the engine's grid: 0 to the last follow-up in GRID_STEPS steps, the horizon 24 as a grid point
    curve = survival_curve(dt, d1, spec, np.array([[1.0]]), grid=time_grid(d1, (24.0,)))
    t_ref = d1.reference_time
    eta = beta * (1.0 - d1.center[0])  # models use centred covariates
    # closed form: S(t) = exp(−exp(b0 + η)·(t/t_ref)^k) → median = t_ref·(ln 2 / exp(b0 + η))^(1/k)
    expected_median = t_ref * (math.log(2) / math.exp(b0 + eta)) ** (1 / k)
    # grid step (follow-up / 500) with linear interpolation: error far below 0.01 months
    assert float(median_survival(curve).values.ravel()[0]) == pytest.approx(expected_median, abs=0.01)
    expected_rmst, _ = integrate.quad(lambda t: math.exp(-math.exp(b0 + eta) * (t / t_ref) ** k), 0, 24)
    # trapezoid on that grid of a smooth decreasing curve, ending exactly at 24: error < 1e-3 months
    assert float(rmst(curve, 24.0).values.ravel()[0]) == pytest.approx(expected_rmst, abs=1e-3)


def test_rmst_and_mixture_are_the_plain_expressions_in_one_buffer():
    """RMST and the pattern mixture are computed in one buffer: the same numbers, to the bit, as xarray's
    trapezoid (``sel`` + ``integrate``, the reference) and the plain numpy expression, on an uneven grid whose
    horizon is a grid point and on one where it falls between points."""
    from hccbayes.models.survival.quantities import _mixture

    rng = np.random.default_rng(7)
    grid = np.r_[0.0, np.sort(rng.uniform(0.05, 40.0, 150)), 24.0]
    grid.sort()
    surv = np.sort(rng.uniform(size=(2, 3, 400, grid.size)), axis=-1)[..., ::-1].copy()
    curve = xr.DataArray(surv, dims=("group", "chain", "draw", "time"), name="survival",
                         coords={"group": ["a", "b"], "chain": [0, 1, 2], "draw": np.arange(400), "time": grid})
    for horizon in (24.0, 30.5):
        xr.testing.assert_identical(rmst(curve, horizon),
                                    curve.sel(time=slice(0, horizon)).integrate("time").rename("rmst"))
    log_h0, eta = rng.normal(size=(500, 60)), rng.normal(size=(500, 4))
    for w in (np.array([0.1, 0.2, 0.3, 0.4]), rng.dirichlet(np.ones(4), size=500)):
        plain = sum((w[:, r:r + 1] if w.ndim == 2 else w[r]) * np.exp(-np.exp(log_h0 + eta[:, r:r + 1]))
                    for r in range(4))
        np.testing.assert_array_equal(_mixture(log_h0, eta, w), plain)


def test_standardised_curves_average_conditionals(sim):
    df, data = sim
    spec = SurvivalSpec("os", terms=("x1", "x2"))
    d2 = survival_data(df, SimStudy(), spec)
    dt = _fake_weibull_tree(-0.7, 1.2, [-0.4, 0.5])
    std = standardised_curves(dt, d2, spec, "x1")
    # by hand: the average over patients of their conditional curves with x1 set to 1
    X = d2.X.copy()
    X[:, 0] = 1.0
    by_hand = np.mean([survival_curve(dt, d2, spec, X[i : i + 1]).values for i in range(0, d2.n)], axis=0)
    np.testing.assert_allclose(std.sel(level=1).values, by_hand, atol=1e-12)  # same arithmetic, reordered
    assert prob_below(np.exp(dt["posterior"]["log_hr"].sel(term="x1")), 1.0) == 1.0
    assert float(hazard_ratios(dt).sel(term="x1").values.ravel()[0]) == pytest.approx(math.exp(-0.4))


def test_reused_compile_relabels_terms(sim):
    """A compiled model reused for another analysis of the same shape carries that analysis' labels."""
    df, _ = sim
    cache = ModelCache()
    settings = SamplerSettings(draws=100, tune=100, chains=1)
    for term in ("x1", "x3"):
        spec = SurvivalSpec("os", terms=(term,))
        dt = fit(survival_data(df.iloc[:300], SimStudy(), spec), prior_set("vague"), spec, settings, seed=1,
                 cache=cache)
        assert list(dt["posterior"]["term"].values) == [term]
    assert cache.compiles == 1


def test_degenerate_data_sample_and_explain(sim, cache):
    """Zero events in one level (monotone likelihood) and a tiny subgroup: the weakly informative prior
    still gives a proper posterior that samples; the fit records why the data cannot inform the HR."""
    df, _ = sim
    small = df.iloc[:120].copy()
    small.loc[small["x2"] == 1, "event"] = 0  # every patient with x2 = 1 censored: no events there
    tiny = small.index[small["x3"] == 1][3:]
    small = small.drop(tiny)  # x3 = 1 for only 3 patients
    spec = SurvivalSpec("os", terms=("x1", "x2", "x3"))
    data = survival_data(small, SimStudy(), spec)
    dt = fit(data, prior_set("weakly_informative"), spec, SamplerSettings(draws=500, tune=500, chains=2),
             seed=3, cache=cache)  # same structure as the 3-term Weibull above: no new compile
    notes = json.loads(dt.attrs["data_notes"])
    assert any("x2 = 1: no events" in n and "monotone likelihood" in n for n in notes)
    assert any("x3 = 1: only 3 patients" in n for n in notes)
    # the prior N(0, 1) bounds the log-HR of x2: its posterior sits in the lower tail of the prior,
    # not at -infinity (the likelihood is monotone decreasing in beta_x2)
    x2 = dt["posterior"]["log_hr"].sel(term="x2").values
    assert np.isfinite(x2).all() and -4.0 < np.median(x2) < 0.0


def test_a_data_warning_is_logged_once_and_kept_with_every_fit(sim, cache, caplog):
    """The data warnings of a design (here a level with 3 patients) go to the log once per process — a run fits
    the same data under five prior sets — and into every fit's attrs, whence its rows' notes."""
    from hccbayes.inference.fitting import fit as fit_module

    df, _ = sim
    small = df.iloc[:120].copy()
    small = small.drop(small.index[small["x3"] == 1][3:])
    spec = SurvivalSpec("os", terms=("x1", "x2", "x3"))
    data = survival_data(small, SimStudy(), spec)
    fit_module._NOTED.clear()
    settings = SamplerSettings(draws=200, tune=200, chains=2)
    with caplog.at_level("WARNING", logger="hccbayes.inference.fitting.fit"):
        fits = [fit(data, prior_set(name), spec, settings, seed=3, cache=cache)
                for name in ("weakly_informative", "skeptical")]
    assert caplog.text.count("x3 = 1: only 3 patients") == 1
    for dt in fits:
        assert any("x3 = 1: only 3 patients" in n for n in json.loads(dt.attrs["data_notes"]))


def test_all_censored_is_a_clear_error(sim):
    df, _ = sim
    with pytest.raises(SpecError, match="no os events among the 50 patients"):
        survival_data(df.iloc[:50].assign(event=0), SimStudy(), SurvivalSpec("os", terms=("x1",)))
