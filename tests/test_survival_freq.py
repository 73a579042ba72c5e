"""Frequentist survival estimators against R's survival package.

Source of every R number: R 4.2.2 (2022-11-10 r83330) with survival 3.5.3, output of
tests/reference/survival_reference.R saved in tests/reference/*_reference_output.csv (the first line of
each file names the versions). Re-create with
  Rscript tests/reference/survival_reference.R tests/reference/freq_cohort.csv \
      tests/reference/survival_reference_output.csv tki_ici,pvtt,metastasis,cirrhosis,prior_ablation
  Rscript tests/reference/survival_reference.R tests/reference/km_edge_cohort.csv \
      tests/reference/km_edge_reference_output.csv "" arm pfs:pfs_months:pfs_event 4.5,5,20
The tests read the saved files; R is not needed to run them. Values are written with 17 significant
digits, so they round-trip exactly.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hccbayes.data.study import load_study
from hccbayes.inference.frequentist.cox import cox_fit, select_and_fit, study_cox
from hccbayes.inference.frequentist.survival import km_at_times, km_medians, logrank, study_km

from r_reference import ENDPOINTS, KM_TOL, LOGRANK_RTOL, REF, check_cox, check_medians, r_value, read_reference

COVARIATES = ["tki_ici", "pvtt", "metastasis", "cirrhosis", "prior_ablation"]
# Tolerances. KM medians are observed times (or R's midpoint of two): exact. The log CI limits and S(t)
# are the same closed form evaluated in a different order (statsmodels: exp(cumsum(log)), R: products),
# which differs at ~1e-15: 1e-9. Cox fits are iterative in both programs (R stops at a relative change of
# the log partial likelihood < 1e-9, we use Newton to 1e-12): 1e-6 relative, as the issue asks. The
# log-rank statistic is a closed form: 1e-6 relative (it agrees to ~1e-14 in practice).


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    return pd.read_csv(REF / "freq_cohort.csv")


@pytest.fixture(scope="module")
def r_main() -> pd.DataFrame:
    return read_reference("survival_reference_output.csv")


@pytest.mark.parametrize("rule", ["print", "quantile"])
@pytest.mark.parametrize("endpoint", ["pfs", "os"])
def test_km_median_log_ci_matches_r(cohort, r_main, endpoint, rule):
    ours = km_medians(cohort, *ENDPOINTS[endpoint], group="arm", ci_method="log", median_rule=rule)
    assert list(ours.group) == ["overall", "TKI", "TKI+ICI"]
    check_medians(ours, r_main, endpoint, rule)


@pytest.mark.parametrize("rule", ["print", "quantile"])
def test_km_median_flat_half_rules_match_r(rule):
    # km_edge_cohort.csv: S = 0.5 exactly on [5, 6) (R: midpoint 5.5); S = 0.5 to the end (print: 4,
    # quantile: (4 + 8) / 2 = 6); median not reached (NaN). Source: R output, file above.
    edge = pd.read_csv(REF / "km_edge_cohort.csv")
    ref = read_reference("km_edge_reference_output.csv")
    ours = km_medians(edge, "pfs_months", "pfs_event", group="arm", median_rule=rule)
    check_medians(ours, ref, "pfs", rule)
    expected = {"print": 4.0, "quantile": 6.0}[rule]  # the two R functions disagree here, by design
    assert ours.set_index("group").loc["flat_end", "median"] == expected
    assert ours.set_index("group").loc["flat_mid", "median"] == 5.5


@pytest.mark.parametrize("endpoint", ["pfs", "os"])
def test_km_at_times_matches_r_summary(cohort, r_main, endpoint):
    ours = km_at_times(cohort, *ENDPOINTS[endpoint], times=[3, 6, 12], group="arm")
    for row in ours.itertuples():
        t = f"{row.time:.17g}"
        assert row.n_risk == r_value(r_main, "km_times", endpoint, "n_risk", row.group, time=t)  # counts: exact
        for q in ("surv", "lower", "upper"):
            np.testing.assert_allclose(getattr(row, q), r_value(r_main, "km_times", endpoint, q, row.group, time=t),
                                       rtol=0, atol=KM_TOL)


@pytest.mark.parametrize("endpoint", ["pfs", "os"])
def test_logrank_matches_r_survdiff(cohort, r_main, endpoint):
    ours = logrank(cohort, *ENDPOINTS[endpoint], group="arm").iloc[0]
    assert ours.df == r_value(r_main, "logrank", endpoint, "df")
    np.testing.assert_allclose(ours.chisq, r_value(r_main, "logrank", endpoint, "chisq"), rtol=LOGRANK_RTOL)
    np.testing.assert_allclose(ours.p, r_value(r_main, "logrank", endpoint, "p"), rtol=LOGRANK_RTOL)


def test_logrank_three_groups_matches_r():
    edge = pd.read_csv(REF / "km_edge_cohort.csv")
    ref = read_reference("km_edge_reference_output.csv")
    ours = logrank(edge, "pfs_months", "pfs_event", group="arm").iloc[0]
    assert ours.df == 2
    np.testing.assert_allclose(ours.chisq, r_value(ref, "logrank", "pfs", "chisq"), rtol=LOGRANK_RTOL)


@pytest.mark.parametrize("endpoint", ["pfs", "os"])
def test_cox_efron_matches_r_coxph(cohort, r_main, endpoint):
    time, event = ENDPOINTS[endpoint]
    sel = select_and_fit(cohort, COVARIATES, (time, event))
    check_cox(sel.univariable, r_main, "cox_uni", endpoint)
    check_cox(cox_fit(cohort, time, event, COVARIATES), r_main, "cox_multi", endpoint)
    # the paper's rule (univariable p < 0.1) picks the same terms as the R script does
    r_selected = r_main[(r_main.section == "cox_selected") & (r_main.endpoint == endpoint)].term.unique()
    assert sel.selected == tuple(r_selected)
    check_cox(sel.multivariable, r_main, "cox_selected", endpoint)


def test_study_helpers_reproduce_r(cohort, r_main):
    # freq_cohort.csv uses yin2025 column names (arm, pvtt, ...); factors are built by Study.factors.
    study = load_study("yin2025")
    sel = study_cox(cohort, study, "os", COVARIATES)
    check_cox(sel.univariable, r_main, "cox_uni", "os")
    check_cox(sel.multivariable, r_main, "cox_selected", "os")
    sub = study_km(cohort, study, "pfs", by=None, population='arm == "TKI+ICI"')
    assert len(sub) == 1
    np.testing.assert_array_equal(sub["median"].iloc[0], r_value(r_main, "km_median", "pfs", "median_print", "TKI+ICI"))


def test_spss_ci_is_median_plus_minus_z_se(cohort):
    # by construction: lower/upper = median -/+ z * SE with z = qnorm(0.975) = 1.959964 (6 decimals);
    # tolerance 1e-7 * SE covers the rounding of z in this check.
    for endpoint, cols in ENDPOINTS.items():
        t = km_medians(cohort, *cols, group="arm", ci_method="spss").dropna(subset=["se"])
        assert len(t) > 0
        np.testing.assert_allclose(t["lower"], t["median"] - 1.959964 * t["se"], rtol=0, atol=1e-7 * t["se"].max())
        np.testing.assert_allclose(t["upper"], t["median"] + 1.959964 * t["se"], rtol=0, atol=1e-7 * t["se"].max())


def test_spss_se_hand_example():
    # Closed form, 10 patients, events at t = 1..10, no censoring: S(t_k) = 1 - k/10.
    #  median = first t with S <= 0.5 = 5.
    #  Greenwood SE(S(5)) = S * sqrt(sum_{n=6..10} 1/(n(n-1))) = 0.5 * sqrt(1/5 - 1/10) = sqrt(0.025).
    #  u = max{t: S >= 0.55} = 4 (S = 0.6); l = min{t: S <= 0.45} = 6 (S = 0.4);
    #  f = (0.6 - 0.4) / (6 - 4) = 0.1;  SE(median) = sqrt(0.025) / 0.1 = sqrt(2.5) = 1.5811388...
    #  CI = 5 -/+ 1.959964 * sqrt(2.5) = 5 -/+ 3.098975 = (1.901025, 8.098975).
    # Tolerance 1e-12: closed form, only floating-point rounding (S is built as exp(cumsum(log))).
    d = pd.DataFrame({"t": np.arange(1.0, 11.0), "e": np.ones(10)})
    row = km_medians(d, "t", "e", ci_method="spss").iloc[0]
    assert row["median"] == 5.0
    np.testing.assert_allclose(row["se"], np.sqrt(2.5), rtol=1e-12)
    np.testing.assert_allclose([row["lower"], row["upper"]], [1.901025, 8.098975], atol=5e-7)  # 6 decimals
    # the R flavour of the same data is the midpoint 5.5 (S = 0.5 exactly on [5, 6))
    assert km_medians(d, "t", "e").iloc[0]["median"] == 5.5


def test_a_cox_model_of_the_same_data_is_maximised_once(cohort):
    """The selection screens, univariable rows and fidelity table of a run fit the same Cox models: the same
    arrays are maximised once per process; another frame with the same data gets the same table, without a new
    fit, and changing one time makes a new fit. The cached estimates cannot be altered through a result."""
    from hccbayes.inference.frequentist import cox

    cox._FITTED.clear()
    first = cox_fit(cohort, "pfs_months", "pfs_event", ["tki_ici"])
    assert len(cox._FITTED) == 1
    again = cox_fit(cohort.copy(), "pfs_months", "pfs_event", ["tki_ici"])
    pd.testing.assert_frame_equal(first, again)
    assert len(cox._FITTED) == 1
    coef, cov = cox._maximised(np.array([1.0, 2.0, 3.0, 4.0]), np.array([[0.0], [1.0], [0.0], [1.0]]),
                               np.array([1.0, 1.0, 0.0, 1.0]))
    coef[:] = 99.0
    assert cox._maximised(np.array([1.0, 2.0, 3.0, 4.0]), np.array([[0.0], [1.0], [0.0], [1.0]]),
                          np.array([1.0, 1.0, 0.0, 1.0]))[0][0] != 99.0
    changed = cohort.copy()
    changed.loc[changed.index[0], "pfs_months"] += 0.5
    cox_fit(changed, "pfs_months", "pfs_event", ["tki_ici"])
    assert len(cox._FITTED) == 3


def test_efron_partial_likelihood_equals_statsmodels_phreg():
    """The vectorised Efron partial log-likelihood, gradient and Hessian equal statsmodels' PHReg(ties="efron")
    (an independent implementation: a loop over the event times) at random β on data with tied event times,
    tied censorings and binary and continuous covariates; tolerance 1e-10 relative (measured: 2e-14)."""
    from statsmodels.duration.hazard_regression import PHReg

    from hccbayes.inference.frequentist.efron import EfronCox

    rng = np.random.default_rng(5)
    for _ in range(40):
        n, p = int(rng.integers(5, 90)), int(rng.integers(1, 5))
        time = np.round(rng.exponential(10.0, n))  # whole units: many ties
        X = rng.normal(size=(n, p))
        X[:, 0] = rng.integers(0, 2, n)
        status = (rng.uniform(size=n) < 0.7).astype(float)
        if status.sum() == 0:
            continue
        ref, mine = PHReg(time, X, status=status, ties="efron"), EfronCox(time, X, status)
        for beta in rng.normal(scale=0.5, size=(3, p)):
            assert mine.loglike(beta) == pytest.approx(ref.loglike(beta), rel=1e-10)
            assert mine.score(beta) == pytest.approx(ref.score(beta), rel=1e-10, abs=1e-10)
            assert mine.hessian(beta) == pytest.approx(ref.hessian(beta), rel=1e-10, abs=1e-10)
