"""Prior-set grids, power-scaling diagnoses and tipping points (issue 7, parts 1-3).

Sources of the reference values:
* closed forms of the conjugate normal-normal model (models/summary_hr.py): with likelihood
  y ~ N(ln HR, SE^2) and prior N(m, s^2), P(HR < 1) = Phi(-mean_post / sd_post), so P = 0.5 at
  m = -y s^2/SE^2 and P = 0.95 at m = s^2 (-z95 sd_post prec - y/SE^2); for the skeptical prior N(0, s^2)
  P = 0.95 at 1/s^2 = y^2/(SE^4 z95^2) - 1/SE^2, i.e. mcid = exp(-z95 s);
* y, SE from Yin et al. 2025 Table 4 (second-line TKI-ICI vs TKI, univariable): PFS HR 0.48
  (0.26-0.88), OS HR 0.52 (0.29-0.93).
MCMC tests use the bundled yin2025 cohort with fixed seeds; tolerances are stated with their reason.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from hccbayes.cli import main
from hccbayes.data import load_study
from hccbayes.errors import PlanError
from hccbayes.inference.engine.plan import load_plan
from hccbayes.inference.engine.table import make_table, validate_table
from hccbayes.inference.fitting.fit import ModelCache, SamplerSettings
from hccbayes.inference.sensitivity.grid import hr_grid, sensitivity
from hccbayes.inference.sensitivity.tipping import (
    conjugate_mcid_evaluator,
    conjugate_mean_evaluator,
    find_tipping_point,
    skeptical_sigma,
    survival_tipping_points,
    tipping_rows,
)
from hccbayes.models.priors.sets import PRIOR_SET_NAMES, custom_prior_sets, expand_prior_sets, resolve_prior_set
from hccbayes.models.priors.values import Z_ONE_SIDED_95 as Z95
from hccbayes.models.summary_hr import log_hr_likelihood
from hccbayes.models.survival.design import survival_data

PLAN = "data/studies/yin2025/plan.toml"
QUICK = SamplerSettings(draws=500, tune=500, chains=2)  # tests: light; MC error is stated per assertion
TABLE4 = {"pfs": (0.48, 0.26, 0.88), "os": (0.52, 0.29, 0.93)}


@pytest.fixture(scope="module")
def plan():
    from pathlib import Path

    return load_plan(Path(__file__).resolve().parents[1] / PLAN)


@pytest.fixture(scope="module")
def cache():
    return ModelCache()


# ---- prior sets as data -------------------------------------------------------------------------------
def test_custom_prior_sets_parse_and_resolve():
    sets = custom_prior_sets({"trial": {"contrast": {"family": "normal", "mu": -0.2, "sigma": 0.3},
                                        "description": "previous trial"}})
    ps = resolve_prior_set("trial", custom=sets)
    assert (ps.contrast.mu, ps.contrast.sigma, ps.other.sigma) == (-0.2, 0.3, 1.0)
    assert resolve_prior_set("skeptical", 0.8, sets).contrast.sigma == pytest.approx(skeptical_sigma(0.8), rel=1e-12)


@pytest.mark.parametrize("body,fragment", [
    ({"contrast": {"family": "lognormal", "mu": 0, "sigma": 1}}, "log-HR priors are normal"),
    ({"contrast": {"family": "normal", "mu": 0, "sigma": -1}}, "not a positive number"),
    ({"other": {"family": "normal", "mu": 0, "sigma": 1}}, "needs a contrast prior"),
    ({"contrast": {"family": "normal", "mu": 0, "sigma": 1}, "colour": 1}, "unknown key"),
])
def test_custom_prior_sets_report_bad_entries(body, fragment):
    with pytest.raises(PlanError, match=fragment):
        custom_prior_sets({"mine": body}, "plan.toml")


def test_named_sets_cannot_be_redefined():
    with pytest.raises(PlanError, match="redefines"):
        custom_prior_sets({"skeptical": {"contrast": {"family": "normal", "mu": 0, "sigma": 1}}})


def test_mcid_sets_expand_per_mcid():
    labels = [label for label, _ in expand_prior_sets(PRIOR_SET_NAMES, (0.7, 0.8))]
    assert labels == ["vague", "weakly_informative", "skeptical_mcid0.7", "skeptical_mcid0.8",
                      "enthusiastic_mcid0.7", "enthusiastic_mcid0.8", "pessimistic_mcid0.7", "pessimistic_mcid0.8"]


def test_plan_with_prior_sets_table(tmp_path):
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / PLAN).read_text()
    text = text.replace('study = "."', f'study = "{Path(__file__).resolve().parents[1] / "data/studies/yin2025"}"')
    text += '\n[prior_sets.trial]\ncontrast = { family = "normal", mu = -0.2, sigma = 0.3 }\n'
    path = tmp_path / "plan.toml"
    path.write_text(text)
    plan = load_plan(path)
    assert plan.analysis("arm_pfs").endpoint == "pfs" and plan.custom_prior_sets["trial"].contrast.mu == -0.2


def test_cli_rejects_an_unknown_prior_set(tmp_path, capsys):
    from pathlib import Path

    code = main(["sensitivity", str(Path(__file__).resolve().parents[1] / PLAN), "--prior-sets", "nope",
                 "--out", str(tmp_path)])
    assert code == 2 and "nope" in capsys.readouterr().err


# ---- the grid: five sets x arm PFS and OS, one compile ----------------------------------------------------
@pytest.fixture(scope="module")
def grid(plan, study, cohort, cache):
    analyses = [plan.analysis("arm_pfs"), plan.analysis("arm_os")]
    return sensitivity(analyses, PRIOR_SET_NAMES, (0.7,), study=study, cohort=cohort, seed=plan.seed,
                       models=["weibull"], settings=QUICK, cache=cache)


def test_grid_is_one_compile_and_one_table(grid):
    assert grid.compiles == 1  # PFS and OS Weibull models share one structure; 10 fits via with_data
    assert len(grid.fits) == 10
    assert validate_table(make_table(grid.table)) == []
    wide = hr_grid(grid.table, contrast="TKI+ICI vs TKI", study=load_study("yin2025"))
    assert len(wide) == 10 and set(wide["prior_set"]) == set(PRIOR_SET_NAMES)
    assert wide[["P(HR<1)", "P(HR<0.7)"]].notna().all().all()
    assert wide["psense"].isin(["✓", "potential prior-data conflict", "potential strong prior / weak likelihood"]).all()
    for src in grid.table["source"][grid.table["source"].str.startswith("bayes:")]:
        assert src.split(":")[1] == "weibull"


def test_grid_orders_the_clinical_priors(grid):
    # enthusiastic, skeptical and pessimistic share their sd and have prior means ln 0.7 < 0 < -ln 0.7, so
    # P(HR < 1) is strictly ordered (exact for a normal likelihood). Skeptical vs pessimistic differ by
    # > 0.25 here, far beyond the MC error of each probability (< 0.02: 1000 draws, ESS > 300); near 1
    # (OS enthusiastic vs skeptical: ~1.00 vs ~0.97) only the order up to that MC error is asserted.
    wide = hr_grid(grid.table, contrast="TKI+ICI vs TKI", study=load_study("yin2025")).set_index(["analysis", "prior_set"])["P(HR<1)"]
    for a in ("arm_pfs", "arm_os"):
        assert wide[(a, "enthusiastic")] >= wide[(a, "skeptical")] - 0.02
        assert wide[(a, "skeptical")] > wide[(a, "pessimistic")] + 0.1


def test_psense_flags_the_informative_priors(grid):
    # Kallioinen et al. 2024: the vague set's log-HR prior is negligible against the likelihood (prior
    # sensitivity ~0 < 0.05), the pessimistic prior (centred at HR 1/0.7 against data favouring HR < 1) is
    # in conflict. Sensitivities are ~0.003 vs ~0.2 here: far from the 0.05 threshold on both sides.
    ps = grid.psense[grid.psense["parameter"] == "log_hr[tki_ici]"].set_index(["analysis", "prior_set"])
    for a in ("arm_pfs", "arm_os"):
        assert ps.loc[(a, "vague"), "diagnosis"] == "✓"
        assert ps.loc[(a, "pessimistic"), "diagnosis"] == "potential prior-data conflict"


# ---- tipping points -------------------------------------------------------------------------------------
@pytest.mark.parametrize("endpoint", ["pfs", "os"])
def test_tipping_point_recovers_the_conjugate_closed_form(endpoint):
    y, se = log_hr_likelihood(*TABLE4[endpoint])
    s = skeptical_sigma(0.7)
    prec = 1 / se**2 + 1 / s**2
    exact = {0.5: -y * s**2 / se**2, 0.95: s**2 * (-Z95 * prec**-0.5 * prec - y / se**2)}
    memo: dict = {}
    for target, m in exact.items():
        tp = find_tipping_point(conjugate_mean_evaluator(y, se, s), target, math.log(0.5), math.log(2.0),
                                memo=memo, max_evals=12)
        # probit(P) is linear in m here, so the secant step is exact: floating-point tolerance
        assert tp.converged and tp.value == pytest.approx(m, abs=1e-9)
    inv = y**2 / (se**4 * Z95**2) - 1 / se**2
    tp = find_tipping_point(conjugate_mcid_evaluator(y, se), 0.95, 0.5, 0.95, bounds=(0.05, 0.999), max_evals=12)
    # nonlinear in the MCID: Illinois converges within the 12-evaluation cap to xtol 1e-10; 1e-8 allows it
    assert tp.converged and tp.evaluations <= 12
    assert tp.value == pytest.approx(math.exp(-Z95 * inv**-0.5), abs=1e-8)


def test_tipping_point_reports_no_crossing():
    y, se = log_hr_likelihood(*TABLE4["pfs"])
    tp = find_tipping_point(conjugate_mcid_evaluator(y, se), 0.5, 0.5, 0.95, bounds=(0.05, 0.999))
    assert not tp.crossed and "does not cross" in tp.note


def test_tipping_points_mcmc_arm_pfs_os(study, cohort, cache, plan):
    from hccbayes.inference.engine.rows_survival import spec_for

    settings = SamplerSettings(draws=1000, tune=500, chains=2)
    for aid in ("arm_pfs", "arm_os"):
        spec = spec_for(plan.analysis(aid), "weibull")
        points = survival_tipping_points(survival_data(cohort, study, spec), spec, settings, 11, cache)
        by = {(p.parameter, p.target): p for p in points}
        for key in (("prior_mean", 0.95), ("prior_mean", 0.5), ("skeptical_mcid", 0.95)):
            tp = by[key]
            # stopping rule: |P - target| <= MC SE of P at ESS = draws/2 (0.0098 at 0.95, 0.022 at 0.5);
            # the estimate's own MC SE (se) must be small against the prior scale (< 0.05 log HR / MCID)
            assert tp.converged and tp.evaluations <= 12 and tp.se < 0.05, (aid, key, tp)
            xs = np.array([x for x, _ in tp.points])
            ps = np.array([p for _, p in tp.points])
            # P(HR < 1) falls as the prior mean rises and as the MCID rises (a narrower prior at HR 1):
            # monotone up to MC noise (3 SE of a probability from 2000 draws ~ 0.03)
            assert (np.diff(ps[np.argsort(xs)]) <= 0.03).all(), (aid, key, tp.points)
        assert not by[("skeptical_mcid", 0.5)].crossed
        assert by[("prior_mean", 0.5)].value > by[("prior_mean", 0.95)].value
        rows = tipping_rows(points, {"analysis": aid, "source": "bayes:weibull:tipping", "prior_set": "tipping"}, 0.7)
        assert validate_table(make_table(rows)) == []
    assert cache.compiles == 1  # the same compiled Weibull model as the grid (module cache)


def test_tipping_refits_go_through_the_diagnostics_gate(study, cohort, cache, plan, caplog):
    """A refit that fails the gate (here: 30 draws, far below the ESS floor) is refitted once with more draws,
    as every fit of a run is, and a search with a refit still failing is marked FAILED in its rows."""
    from dataclasses import replace

    from hccbayes.inference.engine.rows_survival import spec_for
    from hccbayes.inference.sensitivity.tipping import MCMCEvaluator, TippingPoint, skeptical_sigma
    from hccbayes.models.priors.sets import prior_set

    spec = spec_for(plan.analysis("arm_pfs"), "weibull")
    short = SamplerSettings(draws=30, tune=30, chains=2)
    ev = MCMCEvaluator(survival_data(cohort, study, spec), spec, prior_set("weakly_informative"), "mean", short, 3,
                       cache, sigma=skeptical_sigma(0.7))
    p = ev(0.0)
    assert 0 <= p <= 1 and "refitting once with draws=60" in caplog.text
    assert ev.failed and "ESS" in ev.failed[0.0]
    tp = TippingPoint("prior_mean", 0.95, 0.1, (0.0, 0.2), ((0.0, p),), True, 1, gate_failures=1)
    (r,) = tipping_rows([tp], {"analysis": "a", "source": "bayes:weibull:x", "prior_set": "x", "diagnostics_ok": True,
                               "diagnostics": "R-hat 1.001"}, 0.7)
    assert r["diagnostics_ok"] is False and "1 refit(s) of this tipping-point search failed" in r["diagnostics"]
    assert tipping_rows([replace(tp, gate_failures=0)], {"diagnostics_ok": True}, 0.7)[0]["diagnostics_ok"] is True
