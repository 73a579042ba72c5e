"""Landmark analysis of a post-baseline covariate (issue 16 part 7): AFP change after 8 weeks.

* the landmark cohort: patients whose observed time exceeds the landmark, time from the landmark — by hand on
  a small frame (closed form) and against R (tests/reference/landmark_reference.R on the bundled cohort: n,
  events, the Cox log-HR and its SE, the Kaplan–Meier medians per level, and R's own number at risk just after
  the landmark);
* the plan: a landmark before the covariate is measured, or a landmark analysis linked to published figures
  (which count from time zero), is a plan error naming the key and the fix;
* the run: the landmark analysis' rows carry the landmark and its patients in every note, its frequentist Cox
  row is R's, its Bayesian rows exist; the naive analysis of the same covariate is labelled naive.
"""
import numpy as np
import pandas as pd
import pytest

import hccbayes
from hccbayes.errors import PlanError
from hccbayes.inference.engine.plan import parse_plan
from hccbayes.inference.frequentist.cox import cox_fit
from hccbayes.inference.frequentist.survival import km_medians
from hccbayes.models.survival.landmark import landmark_frame, post_baseline_terms
from hccbayes.reports.methods import landmark_text

from r_reference import COX_RTOL, ENDPOINTS, KM_TOL, read_reference

LANDMARK = 1.84  # study.toml: afp_change measured_at = 1.84 months (8 weeks)
R_LANDMARK = read_reference("yin2025_landmark_afp.csv")


def r_landmark(endpoint: str, quantity: str, group: str = "") -> float:
    hit = R_LANDMARK[(R_LANDMARK.endpoint == endpoint) & (R_LANDMARK.quantity == quantity)
                     & (R_LANDMARK.group == group)]
    assert len(hit) == 1, (endpoint, quantity, group)
    return float(hit["value"].iloc[0])


def test_landmark_frame_by_hand(study):
    """Kept: observed time > L (an event or censoring at L itself ends the patient's time at risk, as in R's
    survfit); time − L. Exact: subtraction of two doubles that the expected values repeat."""
    df = pd.DataFrame({"pfs_months": [1.0, 1.84, 1.84, 2.5, 10.0], "pfs_event": [1, 1, 0, 0, 1],
                       "os_months": [3.0, 4.0, 5.0, 6.0, 12.0], "other": list("abcde")})
    out = landmark_frame(df, study, "pfs", LANDMARK)
    assert out["other"].tolist() == ["d", "e"]
    assert out["pfs_months"].tolist() == [2.5 - 1.84, 10.0 - 1.84] and out["pfs_event"].tolist() == [0, 1]
    assert out["os_months"].tolist() == [6.0, 12.0]  # the other endpoint's clock is not touched
    assert post_baseline_terms(study, ["tki_ici", "afp_elevated", "afp_gt400"]) == {"afp_elevated": LANDMARK}


@pytest.mark.parametrize("endpoint", ["pfs", "os"])
def test_landmark_cohort_matches_r(cohort, study, endpoint):
    """n and events exact; Cox log-HR and SE to R's convergence tolerance (r_reference.COX_RTOL); medians are
    observed times: exact up to KM_TOL."""
    arm = cohort[cohort["arm"] == "TKI+ICI"]
    lm = landmark_frame(arm, study, endpoint, LANDMARK)
    assert len(lm) == r_landmark(endpoint, "n") == r_landmark(endpoint, "at_risk_after_landmark")
    assert lm[ENDPOINTS[endpoint][1]].sum() == r_landmark(endpoint, "events")
    cox = cox_fit(lm, *ENDPOINTS[endpoint], ["afp_elevated"]).iloc[0]
    np.testing.assert_allclose([cox.coef, cox.se], [r_landmark(endpoint, "coef"), r_landmark(endpoint, "se")],
                               rtol=COX_RTOL)
    km = km_medians(lm, *ENDPOINTS[endpoint], group="afp_elevated", ci_method="log")
    levels = km[km["group"] != "overall"]
    assert len(levels) == 2
    for r in levels.itertuples():
        level = str(int(float(r.group)))
        assert r.n == r_landmark(endpoint, "n", level)
        np.testing.assert_allclose(r.median, r_landmark(endpoint, "median", level), rtol=0, atol=KM_TOL)


PLAN = """
[plan]
name = "landmark"
study = "{study}"
seed = 11

[defaults]
prior_sets = ["weakly_informative"]
models = ["weibull"]
sampler = {{ draws = 300, tune = 300, chains = 2 }}

[[analyses]]
id = "lm"
kind = "survival"
endpoint = "pfs"
population = {{ arm = "TKI+ICI" }}
terms = ["afp_elevated"]
strata = "afp_change"
from_landmark = {landmark}
{extra}

[[analyses]]
id = "naive"
kind = "survival"
endpoint = "pfs"
population = {{ arm = "TKI+ICI" }}
terms = ["afp_elevated"]
link = ["cox_hr"]
"""


@pytest.mark.parametrize("landmark,extra,message", [
    (1.0, "", "1 is before 'afp_elevated' is measured (1.84 months)"),
    (LANDMARK, 'link = ["cox_hr"]', "a landmark analysis has no published counterpart"),
    (-2.0, "", "is not a positive time"),
])
def test_bad_landmarks_are_plan_errors(landmark, extra, message):
    import tomllib

    raw = tomllib.loads(PLAN.format(study="yin2025", landmark=landmark, extra=extra))
    with pytest.raises(PlanError) as err:
        parse_plan(raw)
    assert message in str(err.value) and "analyses.lm" in str(err.value)


def test_run_rows_of_the_landmark_and_of_the_naive_analysis(tmp_path):
    plan = tmp_path / "plan.toml"
    plan.write_text(PLAN.format(study=str(hccbayes.data.study.STUDIES_DIR / "yin2025"), landmark=LANDMARK,
                                extra=""), encoding="utf-8")
    table = hccbayes.run_plan(plan, tmp_path / "run", checks=False).table
    lm, naive = table[table["analysis"] == "lm"], table[table["analysis"] == "naive"]
    assert not (lm["source"] == "published").any()
    assert lm["note"].str.startswith("landmark analysis from 1.84 months: the 43 of 49 patients free of "
                                     "progression or death and in follow-up at 1.84 months").all()
    cox = lm[(lm["source"] == "frequentist") & (lm["quantity"] == "hr")].iloc[0]
    np.testing.assert_allclose(cox["estimate"], r_landmark("pfs", "hr"), rtol=COX_RTOL)
    assert "n=43, events=27" in cox["note"]
    bayes = lm[lm["source"] == "bayes:weibull:weakly_informative"]
    assert {"hr", "median", "median_diff", "rmst_diff"} <= set(bayes["quantity"])
    # the naive analysis: the paper's Table 5 row beside it, every row labelled
    assert (naive["source"] == "published").any()
    assert naive["title"].str.endswith("(naive analysis from time zero)").all()
    assert naive["note"].str.contains("guarantee-time bias").all()
    assert "n=49" in naive[(naive["source"] == "frequentist") & (naive["quantity"] == "hr")]["note"].iloc[0]
    methods = landmark_text(table)  # the report's Methods paragraph, from the rows
    assert "Landmark analyses start the clock" in methods and "(lm: 1.84 months: the 43 of 49 patients" in methods
    assert "The 1 analysis that uses such a covariate from time zero" in methods
