"""The M-spline family in a run: named in a plan (``models``, ``loo_models``), fitted beside the Weibull and the
PEM, compared by PSIS-LOO in checks/loo.csv, checked by posterior predictive KM and power-scaling, and
described in the report — with no code of the engine, checks or report naming it."""
from __future__ import annotations

import math
import shutil

import pandas as pd
import pytest

import hccbayes
from hccbayes.data.study import STUDIES_DIR

PLAN = """
[plan]
name = "mspline"
study = "."
seed = 11

[defaults]
prior_sets = ["weakly_informative"]
models = ["mspline"]
loo_models = ["weibull", "pem", "mspline"]
thresholds = { hr = [1.0, 0.7], median_diff = [0.0], rmst_diff = [0.0], rate_diff = [0.0] }
sampler = { draws = 500, tune = 500, chains = 2, target_accept = 0.95 }

[[analyses]]
id = "arm_pfs"
kind = "survival"
endpoint = "pfs"
terms = ["tki_ici"]
strata = "arm"
link = ["cox_hr", "km_median"]
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """yin2025's arm PFS comparison (70 patients, 51 events) with an M-spline baseline, and LOO against the
    Weibull and the PEM (each fitted once, under the default prior set)."""
    study = tmp_path_factory.mktemp("study")
    for name in ("study.toml", "published.toml", "cohort.csv"):
        shutil.copy(STUDIES_DIR / "yin2025" / name, study / name)
    (study / "plan.toml").write_text(PLAN, encoding="utf-8")
    out = tmp_path_factory.mktemp("run")
    hccbayes.run_plan(study / "plan.toml", out=out, report=True)
    return out


def test_mspline_rows_beside_cox(run):
    table = pd.read_csv(run / "comparisons.csv")
    ms = table[table["source"] == "bayes:mspline:weakly_informative"]
    assert {"hr", "median", "rmst", "median_diff", "rmst_diff", "psense_prior", "psense_likelihood"} <= set(ms["quantity"])
    assert ms["diagnostics_ok"].astype(str).eq("True").all()
    hr = ms[(ms["quantity"] == "hr") & ms["estimate"].notna()].iloc[0]
    cox = table[(table["source"] == "frequentist") & (table["quantity"] == "hr")].iloc[0]
    # a flexible baseline leaves the log-HR close to Cox's partial likelihood: the posterior median within 0.1 of
    # Cox's log-HR (the tolerance for the PEM; observed 0.062), both intervals overlapping almost entirely
    assert abs(math.log(hr["estimate"]) - math.log(cox["estimate"])) < 0.1
    assert hr["lower"] < cox["estimate"] < hr["upper"]
    assert set(ms.loc[ms["quantity"] == "psense_prior", "contrast"]) >= {"intercept", "mspline_coefs[0]"}


def test_loo_compares_three_families(run):
    loo = pd.read_csv(run / "checks" / "loo.csv")
    arm = loo[loo["analysis"] == "arm_pfs"]
    assert sorted(arm["model"]) == ["mspline", "pem", "weibull"] and sorted(arm["rank"]) == [0, 1, 2]
    assert arm["weight"].sum() == pytest.approx(1.0, abs=1e-6)  # stacking weights (optimiser tolerance)
    assert (arm["n_k_gt_0.7"] == 0).all() and arm["elpd_loo"].notna().all()
    ppc = pd.read_csv(run / "checks" / "ppc.csv")
    # the posterior predictive KM check of the M-spline fit: event times by inverting its I-spline cumulative
    # hazard; a fitting model covers the observed KM at (near) every grid point of its 90% band
    assert (ppc.loc[ppc["model"] == "mspline", "coverage"] >= 0.9).all()


def test_report_describes_the_mspline(run):
    md = (run / "report" / "report.md").read_text(encoding="utf-8")
    methods = md[md.index("## Methods"):md.index("## Reporting checklist")]
    assert "M-spline proportional-hazards" in methods and "a cubic M-spline baseline hazard" in methods
    assert "cubic M-splines of time (6 basis functions" in methods and "Dirichlet(1)" in methods
    assert "comparisons of Weibull-vs-PEM-vs-M-spline the highest elpd is" in md
