"""The regimen model (issue 16 part 9): regimen effects centred within arm, so the arm term is the arm contrast;
the reference arm found by the arm term's value, not by position.

Sources: the centring is an identity (patient-weighted mean of the deviations within each arm = 0, to float
rounding); the arm contrast is the arm-only model's (same data, same priors), to within Monte Carlo error and
the small non-collapsibility of a hazard ratio over regimens: measured |Δ median log-HR| 0.004 (PFS) and 0.016
(OS) with SDs 0.29-0.31 — before centring the regimen model gave −0.58 (SD 0.42) against −0.63 (SD 0.29) for
PFS, a contrast of two "typical" regimens.
"""
from dataclasses import replace

import numpy as np
import pytest
import xarray as xr

from hccbayes.inference.fitting.fit import ModelCache, SamplerSettings, fit
from hccbayes.models.priors.sets import prior_set
from hccbayes.models.survival.design import SurvivalSpec, survival_data
from hccbayes.models.survival.likelihood import regimen_centring
from hccbayes.models.survival.quantities import median_survival, regimen_curves

SETTINGS = SamplerSettings(draws=1000, tune=1000, chains=2, target_accept=0.99)  # the plan's regimen settings


@pytest.fixture(scope="module")
def fits(study, cohort):
    cache = ModelCache()
    out = {}
    for regimen in (False, True):
        spec = SurvivalSpec("pfs", terms=("tki_ici",), model="weibull", regimen_effects=regimen)
        data = survival_data(cohort, study, spec)
        out[regimen] = (data, fit(data, prior_set("weakly_informative"), spec, SETTINGS, seed=3, cache=cache))
    return out


def test_deviations_average_to_zero_within_each_arm(fits):
    data, dt = fits[True]
    dev = dt["posterior"]["regimen_deviation"].values.reshape(-1, len(data.regimen_names))
    counts = np.bincount(data.regimen)
    for a in range(len(data.arm_names)):
        mine = data.regimen_arm == a
        mean = (dev[:, mine] * counts[mine]).sum(axis=1) / counts[mine].sum()
        assert np.abs(mean).max() < 1e-12  # an identity of the parametrisation, float rounding only
    m = regimen_centring(data)
    assert np.allclose(m.sum(axis=1), 1.0) and np.allclose(m @ m, m)  # a weighted mean per arm: a projection


def test_the_arm_term_is_the_arm_contrast(fits):
    """Tolerance: 0.05 on the median log-HR (a sixth of its posterior SD; Monte Carlo SE of a median from 2000
    draws ~ 0.01, plus non-collapsibility) and 10% on the SD (regimen heterogeneity adds a little)."""
    (_, arm_only), (_, regimen) = fits[False], fits[True]
    a, r = (dt["posterior"]["log_hr"].sel(term="tki_ici") for dt in (arm_only, regimen))
    assert abs(float(a.median()) - float(r.median())) < 0.05
    assert float(r.std()) == pytest.approx(float(a.std()), rel=0.10)


def test_reference_arm_by_the_arm_terms_value_not_by_position(fits, study, cohort):
    """The same posterior gives the same regimen curves whichever arm the study lists first: each regimen's arm
    term comes from its patients' values (TKI regimens 0, TKI+ICI regimens 1). Exact: the same arithmetic."""
    data, dt = fits[True]
    spec = SurvivalSpec("pfs", terms=("tki_ici",), model="weibull", regimen_effects=True)
    reordered = replace(study, arms=tuple(reversed(study.arms)))
    data2 = survival_data(cohort, reordered, spec)
    assert data2.arm_names[0] != data.arm_names[0]  # the reference arm is no longer first
    assert data2.regimen_names != data.regimen_names  # and the regimens come in another order
    post = dt["posterior"].to_dataset()
    dev = post["regimen_deviation"].sel(regimen=list(data2.regimen_names)).values  # in the other study's order
    post2 = post[["log_hr", "intercept", "weibull_shape"]].assign(
        regimen_deviation=(("chain", "draw", "regimen"), dev)).assign_coords(regimen=list(data2.regimen_names))
    tree2 = xr.DataTree.from_dict({"posterior": post2})
    m1 = median_survival(regimen_curves(dt, data, spec, "tki_ici"))
    m2 = median_survival(regimen_curves(tree2, data2, spec, "tki_ici"))
    for name in data.regimen_names:
        np.testing.assert_array_equal(m1.sel(regimen=name).values, m2.sel(regimen=name).values)
