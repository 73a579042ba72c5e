"""Frequentist reference estimators on the bundled yin2025 cohort against R's survival package.

Source of every R number: R 4.2.2 Patched (2022-11-10 r83330) with survival 3.5.3 running
tests/reference/survival_reference.R on tests/reference/yin2025_for_r.csv (written by
tests/reference/export_yin2025.py from data/studies/yin2025/cohort.csv); the outputs are saved in
  tests/reference/yin2025_reference_output.csv          whole cohort, n = 70 (Table 4 population),
                                                        KM and log-rank by arm, 26 factors
  tests/reference/yin2025_reference_output_tki_ici.csv  TKI+ICI arm, n = 49 (Table 5 population),
                                                        KM and log-rank by regimen, 25 factors (tki_ici
                                                        is constant there)
The exact Rscript commands are at the top of export_yin2025.py; the first line of each output names
the R and survival versions. R is not needed to run these tests.

The estimators run on the cohort as hccbayes loads it (hccbayes.data.load_cohort); test_export_is_fresh
ties the R input to that cohort: if the cohort is regenerated it fails, and the R commands must be re-run.

Tolerances (as in test_survival_freq.py): KM medians exact (observed times or R's midpoint of two); KM
log CI limits and S(t) 1e-9 absolute; numbers at risk exact; log-rank chisq 1e-6 relative; Cox coef, SE,
HR, CI and p 1e-6 relative.
"""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from hccbayes.inference.frequentist.cox import cox_fit, select_and_fit, study_cox
from hccbayes.inference.frequentist.survival import km_at_times, km_medians, logrank, study_km

from r_reference import ENDPOINTS, KM_TOL, LOGRANK_RTOL, REF, check_cox, check_medians, r_value, read_reference

TIMES = [3, 6, 12, 24]
ICI = "TKI+ICI"


def _load_export_module():
    spec = importlib.util.spec_from_file_location("export_yin2025", REF / "export_yin2025.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


EXPORT = _load_export_module()
FACTORS = {"all": list(EXPORT.FACTORS), "tki_ici": [f for f in EXPORT.FACTORS if f != "tki_ici"]}
OUTPUTS = {"all": "yin2025_reference_output.csv", "tki_ici": "yin2025_reference_output_tki_ici.csv"}
GROUP = {"all": "arm", "tki_ici": "regimen"}
POPULATIONS = ["all", "tki_ici"]


@pytest.fixture(scope="module")
def frames(cohort):
    return {"all": cohort, "tki_ici": cohort[cohort["arm"] == ICI]}


@pytest.fixture(scope="module")
def refs():
    return {p: read_reference(name) for p, name in OUTPUTS.items()}


def test_export_is_fresh():
    committed = (REF / "yin2025_for_r.csv").read_text()
    assert EXPORT.export_text() == committed, (
        "tests/reference/yin2025_for_r.csv no longer matches the bundled yin2025 cohort: re-run "
        "tests/reference/export_yin2025.py and the Rscript commands at its top, and commit the new outputs")


def test_r_outputs_describe_this_input(refs):
    for pop, name in OUTPUTS.items():
        first = (REF / name).read_text().splitlines()[0]
        assert "survival 3.5.3" in first and "input yin2025_for_r.csv" in first
        assert f"covariates {','.join(FACTORS[pop])}" in first
        assert ("subset arm=TKI+ICI" in first) == (pop == "tki_ici")
    # sizes as published (Table 1): 70 = 21 + 49
    assert r_value(refs["all"], "km_median", "pfs", "n", "overall") == 70
    assert r_value(refs["tki_ici"], "km_median", "pfs", "n", "overall") == 49


@pytest.mark.parametrize("rule", ["print", "quantile"])
@pytest.mark.parametrize("endpoint", ["pfs", "os"])
@pytest.mark.parametrize("pop", POPULATIONS)
def test_km_medians_match_r(frames, refs, pop, endpoint, rule):
    ours = km_medians(frames[pop], *ENDPOINTS[endpoint], group=GROUP[pop], ci_method="log", median_rule=rule)
    ref = refs[pop]
    r_groups = ref[(ref.section == "km_median") & (ref.endpoint == endpoint)].group.unique()
    assert sorted(ours.group) == sorted(r_groups)
    check_medians(ours, ref, endpoint, rule, label=pop)


@pytest.mark.parametrize("endpoint", ["pfs", "os"])
@pytest.mark.parametrize("pop", POPULATIONS)
def test_km_at_times_match_r(frames, refs, pop, endpoint):
    ours = km_at_times(frames[pop], *ENDPOINTS[endpoint], times=TIMES, group=GROUP[pop])
    n_r = ((refs[pop].section == "km_times") & (refs[pop].endpoint == endpoint)).sum()
    assert len(ours) * 4 == n_r  # every R row is checked
    for row in ours.itertuples():
        t = f"{row.time:.17g}"
        assert row.n_risk == r_value(refs[pop], "km_times", endpoint, "n_risk", row.group, time=t)  # exact
        for q in ("surv", "lower", "upper"):
            np.testing.assert_allclose(getattr(row, q), r_value(refs[pop], "km_times", endpoint, q, row.group, time=t),
                                       rtol=0, atol=KM_TOL, err_msg=f"{pop} {endpoint} {row.group} t={t} {q}")


@pytest.mark.parametrize("endpoint", ["pfs", "os"])
@pytest.mark.parametrize("pop", POPULATIONS)
def test_logrank_matches_r(frames, refs, pop, endpoint):
    ours = logrank(frames[pop], *ENDPOINTS[endpoint], group=GROUP[pop]).iloc[0]
    assert ours.df == r_value(refs[pop], "logrank", endpoint, "df")
    np.testing.assert_allclose(ours.chisq, r_value(refs[pop], "logrank", endpoint, "chisq"), rtol=LOGRANK_RTOL)
    np.testing.assert_allclose(ours.p, r_value(refs[pop], "logrank", endpoint, "p"), rtol=LOGRANK_RTOL)


@pytest.mark.parametrize("endpoint", ["pfs", "os"])
@pytest.mark.parametrize("pop", POPULATIONS)
def test_cox_univariable_and_selection_match_r(frames, refs, pop, endpoint):
    sel = select_and_fit(frames[pop], FACTORS[pop], ENDPOINTS[endpoint])
    check_cox(sel.univariable, refs[pop], "cox_uni", endpoint)  # every factor
    r_selected = refs[pop][(refs[pop].section == "cox_selected") & (refs[pop].endpoint == endpoint)].term.unique()
    assert sel.selected == tuple(r_selected)  # same p < 0.1 selection as R
    check_cox(sel.multivariable, refs[pop], "cox_selected", endpoint)


@pytest.mark.parametrize("endpoint", ["pfs", "os"])
@pytest.mark.parametrize("pop", POPULATIONS)
def test_study_cox_matches_r(cohort, study, refs, pop, endpoint):
    # the Study-based path (factors rebuilt from study.toml, population as a query string)
    population = None if pop == "all" else f'arm == "{ICI}"'
    sel = study_cox(cohort, study, endpoint, FACTORS[pop], population=population)
    check_cox(sel.univariable, refs[pop], "cox_uni", endpoint)
    check_cox(sel.multivariable, refs[pop], "cox_selected", endpoint)


# TKI+ICI, OS, all 25 factors (33 events): R's coxph converges (8 iterations, log-lik -63.4887, largest
# |coef| 5.8, SE <= 2.0). A plain Newton-Raphson from beta = 0 diverges here; cox_fit halves steps that
# lower the partial likelihood, as coxph does, and reaches R's optimum.
@pytest.mark.parametrize("pop,endpoint", [("all", "pfs"), ("all", "os"), ("tki_ici", "pfs"), ("tki_ici", "os")])
def test_cox_all_factors_match_r(frames, refs, pop, endpoint):
    check_cox(cox_fit(frames[pop], *ENDPOINTS[endpoint], FACTORS[pop]), refs[pop], "cox_multi", endpoint)


def test_study_km_on_table5_population_matches_r(cohort, study, refs):
    sub = study_km(cohort, study, "os", by=None, population=f'arm == "{ICI}"')
    np.testing.assert_array_equal(sub["median"].iloc[0], r_value(refs["tki_ici"], "km_median", "os", "median_print", "overall"))
    whole = study_km(cohort, study, "pfs", by="arm").set_index("group")
    np.testing.assert_array_equal(whole.loc[ICI, "median"], r_value(refs["all"], "km_median", "pfs", "median_print", ICI))
