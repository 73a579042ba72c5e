"""Bayesian imputation of missing covariates (``missing = "impute"``, models/survival/imputation.py).

Simulation (seeded, known truth): Weibull PH with shape 1.3, n = 400, age ~ Normal(50, 10) with log-HR 0.05 per
year and a 0/1 factor ``male`` ~ Bernoulli(0.4) with log-HR −0.7, uniform censoring on (5, 30); 20% of each
covariate deleted completely at random (so at random), independently. The design standardises age by the sd of
its observed values, so the true log-HR per SD is 0.05 × that sd.

Tolerances: the issue's — each imputed log-HR within 3 posterior SD of the truth (a calibrated posterior misses
that in about 0.3% of data sets: the seed is fixed, a failure means a bias), the PEM's log-HR within 0.1 of the
Weibull one (as the colon study's PEM-vs-Weibull agreement; the PEM's intervals make its profile likelihood
Cox's); the pointwise log-likelihood against the closed-form Weibull mixture to rounding (1e-9).

One compile per imputation structure (about a minute each on 2 cores: the marginalised graph is bigger than a
complete-data one), shared through a module-scoped ModelCache.
"""
from __future__ import annotations

import tomllib
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from hccbayes.api import run_plan
from hccbayes.data.study import STUDIES_DIR
from hccbayes.inference.engine.plan import parse_plan
from hccbayes.inference.engine.table import read_table
from hccbayes.inference.fitting.fit import ModelCache, SamplerSettings, fit, structure_key
from hccbayes.models.priors.sets import prior_set
from hccbayes.models.survival import imputation as imp
from hccbayes.models.survival.arrays import SpecError
from hccbayes.models.survival.design import SurvivalSpec, survival_data
from hccbayes.models.survival.families import family
from hccbayes.models.survival.family import flat
from hccbayes.models.survival.quantities import group_curves

N, AGE_LOG_HR, MALE_LOG_HR, SHAPE, RATE = 400, 0.05, -0.7, 1.3, 0.05
SETTINGS = SamplerSettings(draws=1000, tune=1000, chains=2)
COLON = STUDIES_DIR / "colon"


def simulate(seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.normal(50.0, 10.0, N)
    male = (rng.random(N) < 0.4).astype(float)
    eta = AGE_LOG_HR * (age - 50.0) + MALE_LOG_HR * male
    t = (rng.exponential(size=N) / (RATE * np.exp(eta))) ** (1.0 / SHAPE)  # H(t) = RATE·t^SHAPE·exp(η)
    c = rng.uniform(5.0, 30.0, N)
    df = pd.DataFrame({"os_months": np.minimum(t, c), "os_event": (t <= c).astype(float), "age": age, "male": male})
    df.loc[rng.random(N) < 0.2, "age"] = np.nan
    df.loc[rng.random(N) < 0.2, "male"] = np.nan
    return df


def spec(model: str, rule: str) -> SurvivalSpec:
    return SurvivalSpec("os", terms=("age", "male"), continuous=("age",), missing=rule, model=model)


@pytest.fixture(scope="module")
def sim():
    df = simulate()
    cache = ModelCache()
    out = {}
    for model, rule in (("weibull", "impute"), ("weibull", "complete_case"), ("pem", "impute")):
        data = survival_data(df, None, spec(model, rule))
        out[model, rule] = data, fit(data, prior_set("vague"), spec(model, rule), SETTINGS, seed=7, cache=cache)
    return df, out


def _mean_sd(dt):
    lh = dt["posterior"]["log_hr"]
    return lh.mean(("chain", "draw")).values, lh.std(("chain", "draw")).values


def test_imputation_recovers_the_simulated_log_hrs(sim):
    df, fits = sim
    for rule in ("impute", "complete_case"):
        data, dt = fits["weibull", rule]
        truth = np.array([AGE_LOG_HR * data.scale["age"][1], MALE_LOG_HR])
        mean, sd = _mean_sd(dt)
        assert np.all(np.abs(mean - truth) < 3 * sd), (rule, mean, sd, truth)
        assert dt.attrs["diagnostics"] and '"ok": true' in dt.attrs["diagnostics"]
    assert fits["weibull", "impute"][0].n == N  # every patient stays
    assert fits["weibull", "complete_case"][0].n == int(df[["age", "male"]].notna().all(axis=1).sum())
    # the imputation fit uses the outcomes of all 400 patients, complete cases only of ~256: narrower posteriors
    ratio = _mean_sd(fits["weibull", "impute"][1])[1] / _mean_sd(fits["weibull", "complete_case"][1])[1]
    assert np.all(ratio < 1.0), ratio


def test_pem_imputation_agrees_with_weibull(sim):
    _, fits = sim
    weibull, pem = _mean_sd(fits["weibull", "impute"][1])[0], _mean_sd(fits["pem", "impute"][1])[0]
    assert np.all(np.abs(pem - weibull) < 0.1), (pem, weibull)


def test_pointwise_loglik_is_the_marginal_over_the_missing_values(sim):
    """A patient missing ``male``: log(π·L(y | male = 1) + (1 − π)·L(y | male = 0)), closed-form Weibull, at the
    draw's own age (imputed where missing): L = h(t)^d·S(t), H(t) = exp(b0 + η)·(t/t_ref)^k."""
    _, fits = sim
    data, dt = fits["weibull", "impute"]
    post = dt["posterior"]
    ll = dt["log_likelihood"]["y"].values.reshape(-1, data.n)
    b0, k, beta = flat(post, "intercept"), flat(post, "weibull_shape"), flat(post, "log_hr")
    pi = flat(post, "p_binary")[:, 0]
    lay = imp.layout(data)
    cells = list(zip(lay.cell_row.tolist(), lay.cell_term.tolist()))
    missing_male = np.flatnonzero(np.isnan(data.X[:, 1]))
    for i in missing_male[:5]:
        age = np.full(b0.size, data.X[i, 0])
        if np.isnan(data.X[i, 0]):
            age = flat(post, "x_missing")[:, cells.index((i, 0))]
        t, d, t_ref = data.time[i], data.event[i], np.median(data.time)
        lik = []
        for male in (0.0, 1.0):
            eta = beta[:, 0] * (age - data.center[0]) + beta[:, 1] * (male - data.center[1])
            log_cum = b0 + eta + k * np.log(t / t_ref)
            log_h = log_cum + np.log(k) - np.log(t)
            lik.append(np.exp(d * log_h - np.exp(log_cum)))
        np.testing.assert_allclose(ll[:, i], np.log(pi * lik[1] + (1 - pi) * lik[0]), rtol=1e-9)


def test_the_model_likelihood_is_the_numpy_marginal():
    """The PyMC model's likelihood — the complete patients' ``y`` and the imputed patients' marginalised potential —
    at a parameter point equals the numpy pointwise log-likelihood summed over the same patients, to rounding
    (1e-10 relative): the two implementations of the mixture agree."""
    df = simulate()
    fam = family("weibull")
    data = survival_data(df, None, spec("weibull", "impute"))
    s = fam.resolve(data, spec("weibull", "impute"))
    model = fam.build(data, prior_set("vague"), s)
    lay = imp.layout(data)
    values = {"log_hr": np.array([0.4, -0.6]), "intercept": np.array(-0.7), "weibull_shape": np.array(1.3),
              "x_mean": np.array([0.1]), "x_sd": np.array([1.1]), "p_binary": np.array([0.4]),
              "x_missing": np.random.default_rng(0).normal(size=lay.cell_row.size)}
    point = {}
    for rv in model.free_RVs:
        transform = model.rvs_to_transforms.get(rv)
        x = values[rv.name]
        point[model.rvs_to_values[rv].name] = x if transform is None else transform.forward(x, *rv.owner.inputs).eval()
    post = xr.Dataset({k: (("chain", "draw", *(f"{k}_{i}" for i in range(np.ndim(v)))), np.asarray(v)[None, None])
                       for k, v in values.items()})
    ll = fam.pointwise_loglik(post, data, s)[0]
    complete = np.ones(data.n, dtype=bool)
    complete[lay.patients] = False
    for out, rows in ((model.logp(vars=[model["y"]]), complete), (model["y_imputed"], lay.patients)):
        fn = model.compile_fn(model.replace_rvs_by_values([out])[0], inputs=model.value_vars, on_unused_input="ignore")
        assert float(fn(point)) == pytest.approx(ll[rows].sum(), rel=1e-10)


def test_standardised_curves_are_the_posterior_mixture(sim):
    """group_curves with male set for everyone: the missing ages enter per draw, and with male fixed the
    binary weights do not matter — equal to the average of the closed-form Weibull curves over all patients."""
    _, fits = sim
    data, dt = fits["weibull", "impute"]
    grid = np.array([0.0, 5.0, 10.0])
    curve = group_curves(dt, data, spec("weibull", "impute"), {"m": {"male": 1.0}}, grid)
    post = dt["posterior"]
    b0, k, beta = flat(post, "intercept"), flat(post, "weibull_shape"), flat(post, "log_hr")
    lay = imp.layout(data)
    age = np.repeat(data.X[None, :, 0], b0.size, axis=0)
    age[:, lay.cell_row] = flat(post, "x_missing")
    eta = beta[:, :1] * (age - data.center[0]) + beta[:, 1:] * (1.0 - data.center[1])
    t_ref = np.median(data.time)
    by_hand = np.exp(-np.exp(b0[:, None, None] + eta[:, :, None] + k[:, None, None] * np.log(grid[1:] / t_ref)))
    np.testing.assert_allclose(curve.values.reshape(-1, 3)[:, 1:], by_hand.mean(axis=1), rtol=1e-10)


def test_patients_with_a_missing_value_are_not_aggregated():
    """The PEM's sufficient statistics pool the complete patients by covariate pattern; each patient with a
    missing value is its own likelihood row (one per combination of their missing binary values)."""
    df = simulate()
    data = survival_data(df, None, spec("pem", "impute"))
    fam = family("pem")
    values = fam.model_values(data, prior_set("vague"), fam.resolve(data, spec("pem", "impute")))
    lay = imp.layout(data)
    complete = ~np.isnan(data.X).any(axis=1)
    assert values["X"].shape[0] == len(np.unique(data.X[complete], axis=0))
    assert np.array_equal(np.unique(values["imp_X"].shape[0]), [lay.exp_patient.size])
    missing_male = np.isnan(data.X[lay.patients, 1])
    assert lay.exp_patient.size == lay.patients.size + int(missing_male.sum())  # 2 rows where male is missing
    assert values["D"].sum() + values["imp_event"][lay.slots[:, 0]].sum() == data.events


def test_the_missing_pattern_is_part_of_the_structure_key():
    df = simulate()
    s = spec("weibull", "impute")
    key = structure_key(survival_data(df, None, s), s)
    fewer = df.copy()
    fewer.loc[fewer["age"].isna().to_numpy().nonzero()[0][:3], "age"] = 50.0
    assert structure_key(survival_data(fewer, None, s), s) != key
    assert structure_key(survival_data(df.fillna(0.0), None, s), s) != key


def test_terms_that_cannot_be_imputed_are_refused():
    df = simulate()
    df["stage"] = np.where(df["male"].isna(), np.nan, np.arange(N) % 3)  # neither continuous nor 0/1
    with pytest.raises(SpecError, match="neither continuous.*nor a 0/1 factor"):
        survival_data(df, None, SurvivalSpec("os", terms=("age", "stage"), continuous=("age",), missing="impute"))
    for j in range(4):
        df[f"b{j}"] = np.where(np.arange(N) < 5, np.nan, np.arange(N) % 2)
    with pytest.raises(SpecError, match="misses 4 binary terms"):
        survival_data(df, None, SurvivalSpec("os", terms=("b0", "b1", "b2", "b3"), missing="impute"))


def test_two_indicators_of_one_column_are_refused():
    study = SimpleNamespace(factors={t: SimpleNamespace(column="arm") for t in ("lev", "lev5fu")})
    df = simulate()
    df["lev"] = np.where(np.arange(N) < 5, np.nan, np.arange(N) % 2)
    df["lev5fu"] = np.where(np.arange(N) < 5, np.nan, 1.0 - np.arange(N) % 2)
    with pytest.raises(SpecError, match="code one column 'arm'"):
        survival_data(df, study, SurvivalSpec("os", terms=("lev", "lev5fu"), missing="impute"))


@pytest.fixture(scope="module")
def colon_run(tmp_path_factory):
    raw = tomllib.loads((COLON / "plan.toml").read_text(encoding="utf-8"))
    raw["defaults"].update(prior_sets=["vague"], quick_prior_set="vague", loo_models=[], models=["weibull"])
    raw["analyses"] = [{"id": "imputed_os", "kind": "survival", "title": "Overall survival by arm, imputed",
                        "endpoint": "os", "terms": ["lev", "lev5fu", "nodes", "differ_poor"],
                        "continuous": ["nodes"], "missing": "impute", "strata": "arm", "link": []}]
    plan = parse_plan(raw, COLON / "plan.toml")
    out = tmp_path_factory.mktemp("colon_impute")
    result = run_plan(plan, out, quick=True, report=True, checks=False)
    return Path(result.report).with_name("report.md"), read_table(out / "comparisons.csv")


def test_colon_imputes_through_the_engine_and_counts_the_patients(colon_run):
    report, table = colon_run
    bayes = table[table.source.str.startswith("bayes:")]
    # colon (R survival::colon, death rows): nodes missing for 18 patients, differ for 23, 41 patients in all
    # (tests/reference/colon_gcomp.csv: 888 complete cases of 929)
    assert bayes.note.str.contains("missing values imputed in the model for 41 of 929 patients (nodes 18, "
                                   "differ_poor 23)", regex=False).all()
    cox = table[(table.source == "frequentist") & (table.quantity == "hr")]
    assert cox.note.str.contains("complete cases: 888 of 929 patients (the Bayesian models impute", regex=False).all()
    hr = bayes[(bayes.quantity == "hr") & bayes.probability.isna()]
    assert len(hr) == 4 and hr.estimate.between(0.1, 10).all()
    assert bayes[bayes.quantity == "median"].estimate.notna().all()
    assert "a missing value is marginalised exactly" in report.read_text(encoding="utf-8")  # Methods
