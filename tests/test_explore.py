"""Prior exploration by Pareto-smoothed importance reweighting (issue 19 part 4).

One Weibull fit of the yin2025 arm PFS model (4 chains x 1000 draws, weakly informative set: the arm's log-HR
~ Normal(0, 1)) is shared by the module. Sources and tolerances:

* reweighted vs refitted under a new prior: both are Monte Carlo estimates of the same posterior quantity
  from independent draws, so they differ by noise of SD √(MCSE_rw² + MCSE_refit²), where the reweighted MCSE
  comes from the importance weights (√Σw²(1−p)², ESS 1/Σw²) and the refit's from its ESS (arviz_stats, the
  tipping-point search's :func:`indicator_mcse`); the tolerance is 4 such SDs (a false failure has probability
  below 1e-4 per comparison). Quantiles use the normal-approximation SE √(q(1−q)/ESS)·σ/φ(z_q) on the log scale.
* reweighting a normal posterior: the closed form is the normal–normal conjugate update
  (:func:`hccbayes.models.summary_hr.normal_update`); tolerance 4 Monte Carlo SEs as above.
"""
from __future__ import annotations

import functools
import itertools
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import special

from hccbayes.cli import main
from hccbayes.inference.engine.plan import load_plan
from hccbayes.inference.fitting.cache import fit_inputs, store_fit
from hccbayes.inference.fitting.fit import ModelCache, SamplerSettings, fit, priors_json
from hccbayes.inference.sensitivity.explore import Explorer, explorer_of, log_hr_draws, prior_grid
from hccbayes.inference.sensitivity.explore_refit import Refitter
from hccbayes.inference.sensitivity.reweight import psis_weights, summarise
from hccbayes.inference.sensitivity.tipping import indicator_mcse
from hccbayes.models.priors.roles import TermRoles, default_roles, with_roles
from hccbayes.models.priors.sets import prior_set
from hccbayes.models.priors.term_prior import stored_prior_set, with_term_prior
from hccbayes.models.priors.values import Normal
from hccbayes.models.summary_hr import normal_update
from hccbayes.models.survival.design import SurvivalSpec, survival_data

TERM = "tki_ici"
SEED = 20250212
SETTINGS = SamplerSettings(draws=1000, tune=1000, chains=4)
Z = 4.0  # tolerance in Monte Carlo SEs (module docstring)


@pytest.fixture(scope="module")
def base(study, cohort):
    """(fit, its prior set, data, spec, a Refitter on the same compiled model) of the arm PFS Weibull model."""
    spec = SurvivalSpec("pfs", terms=(TERM,), model="weibull")
    data = survival_data(cohort, study, spec)
    priors = with_roles(prior_set("weakly_informative"), default_roles(study))
    cache = ModelCache()
    dt = fit(data, priors, spec, SETTINGS, seed=SEED, cache=cache)
    return dt, priors, data, spec, Refitter(data, spec, SETTINGS, SEED, cache)


def _quantile_se(q: float, sd: float, ess: float) -> float:
    return math.sqrt(q * (1 - q) / ess) * sd / (math.exp(-0.5 * special.ndtri(q) ** 2) / math.sqrt(2 * math.pi))


@pytest.mark.parametrize("prior", [Normal(0.0, 0.5), Normal(math.log(0.7), 0.3), Normal(0.0, 0.25)],
                         ids=["sd0.5", "enthusiastic-like", "sd0.25"])
def test_reweighted_equals_refit_where_khat_is_small(base, prior):
    from arviz_stats import ess

    dt, priors, _, _, refitter = base
    explorer = explorer_of(dt, priors, TERM, thresholds=(1.0, 0.7), ci_prob=0.95)  # no refit: must reweight
    rw = explorer.at(prior)
    assert rw.method == "reweighted" and rw.summary.khat <= 0.7
    ref_dt = refitter(with_term_prior(priors, TERM, prior))
    ref_draws = log_hr_draws(ref_dt, TERM)
    ref = summarise(ref_draws, None, (1.0, 0.7), ci_prob=0.95)
    ref_ess = float(ess(ref_dt["posterior"]["log_hr"].sel(term=TERM), sample_dims=["chain", "draw"], method="bulk"))
    sd = float(ref_draws.std())
    for t in (1.0, 0.7):
        mc = indicator_mcse(ref_dt["posterior"]["log_hr"].sel(term=TERM) < math.log(t))
        tol = Z * math.hypot(rw.summary.mcse[t], mc)
        assert abs(rw.summary.below[t] - ref.below[t]) <= tol, (t, rw.summary.below[t], ref.below[t], tol)
    for q, a, b in ((0.5, rw.summary.median, ref.median), (0.025, rw.summary.lower, ref.lower),
                    (0.975, rw.summary.upper, ref.upper)):
        tol = Z * math.hypot(_quantile_se(q, sd, rw.summary.ess), _quantile_se(q, sd, ref_ess))
        assert abs(math.log(a) - math.log(b)) <= tol, (q, a, b, tol)


def test_far_prior_falls_back_to_a_refit(base):
    """Normal(1.5, 0.1) puts the HR near 4.5, where the stored posterior (median HR about 0.55) has no draws:
    k̂ far above 0.7, so the answer is a refit — the same as refitting directly (same seed, same compiled model:
    identical draws) — and a second request does not refit again."""
    dt, priors, data, spec, refitter = base
    counting = Refitter(data, spec, SETTINGS, SEED, refitter.cache)
    explorer = explorer_of(dt, priors, TERM, thresholds=(1.0,), ci_prob=0.95, refit=counting)
    far = Normal(1.5, 0.1)
    res = explorer.at(far)
    assert res.method == "refitted" and res.summary.khat > 0.7 and "refitted" in res.note
    direct = summarise(log_hr_draws(refitter(with_term_prior(priors, TERM, far)), TERM), None, (1.0,), ci_prob=0.95)
    assert (res.summary.median, res.summary.below[1.0]) == (direct.median, direct.below[1.0])
    assert res.summary.median > 2.0  # the prior dominates: nothing like the stored posterior's 0.55
    explorer.at(far)
    assert counting.fits == 1
    near = explorer.at(Normal(0.0, 0.8))
    assert near.method == "reweighted" and counting.fits == 1
    without = explorer_of(dt, priors, TERM, thresholds=(1.0,), ci_prob=0.95).at(far)
    assert without.method == "reweighted" and "unreliable" in without.note


def test_closed_form_normal_normal():
    """A normal posterior N(m1, s1²) of a log HR (likelihood y = ln 0.6, SE 0.25; prior N(0, 1)) reweighted to
    prior N(m, s²) is the conjugate posterior under that prior."""
    y, se = math.log(0.6), 0.25
    post = normal_update(y, se, 0.0, 1.0)
    draws = np.random.default_rng(7).normal(post.mean, post.sd, 8000)
    explorer = Explorer(draws, TERM, with_roles(prior_set("weakly_informative"), TermRoles((TERM,))),
                        thresholds=(1.0, 0.7), ci_prob=0.95)
    for m, s in ((0.0, 0.3), (math.log(0.7), 0.2), (0.3, 0.5)):
        res = explorer.at(Normal(m, s))
        exact = normal_update(y, se, m, s)
        assert res.method == "reweighted" and res.summary.khat <= 0.7
        for t in (1.0, 0.7):
            assert abs(res.summary.below[t] - exact.prob_hr_below(t)) <= Z * res.summary.mcse[t]
        med, lo, hi = exact.hr_summary(0.95)
        for q, a, b in ((0.5, res.summary.median, med), (0.025, res.summary.lower, lo), (0.975, res.summary.upper, hi)):
            assert abs(math.log(a) - math.log(b)) <= Z * _quantile_se(q, exact.sd, res.summary.ess), (m, s, q)
    # far from the draws the smoothing flags itself (and the estimate is off: why the engine refits)
    assert explorer.at(Normal(1.0, 0.05)).summary.khat > 0.7


def test_reweighted_tipping_points_match_the_closed_form():
    """The run engine's tipping-point searches with reweighting as evaluator, on normal posterior draws: the prior
    mean m at which P(HR < 1) = t under Normal(m, s), s = σ_skeptical(0.7), solves the conjugate update exactly,
    m = s²·(μ_t·prec − y/SE²) with μ_t = −Φ⁻¹(t)/√prec; the skeptical MCID by root-finding on the closed form.
    Tolerance: 4 Monte Carlo SEs of each tipping point (its ``se``)."""
    from scipy.optimize import brentq

    from hccbayes.inference.sensitivity.explore_tipping import reweighted_tipping_points
    from hccbayes.inference.sensitivity.tipping import conjugate_mcid_evaluator, skeptical_sigma

    y, se = math.log(0.6), 0.25
    post = normal_update(y, se, 0.0, 1.0)
    draws = np.random.default_rng(11).normal(post.mean, post.sd, 8000)
    explorer = Explorer(draws, TERM, with_roles(prior_set("weakly_informative"), TermRoles((TERM,))),
                        thresholds=(1.0,), ci_prob=0.95)
    points, refits = reweighted_tipping_points(explorer, mcid=0.7)
    s = skeptical_sigma(0.7)
    prec = 1 / se**2 + 1 / s**2
    for tp in points:
        if tp.parameter == "prior_mean":
            exact = s**2 * (-special.ndtri(tp.target) / math.sqrt(prec) * prec - y / se**2)
        elif tp.crossed:
            exact = brentq(lambda m, t=tp.target: conjugate_mcid_evaluator(y, se)(m) - t, 0.05, 0.999)
        else:
            assert tp.target == 0.5  # a skeptical prior cannot take P(HR < 1) across 0.5
            continue
        assert abs(tp.value - exact) <= Z * tp.se, (tp.parameter, tp.target, tp.value, exact, tp.se)
    assert refits == 0  # no refit function: the search used reweighting only


def test_prior_grid_is_monotone_and_unchanged_prior_is_identity(base):
    dt, priors, *_ = base
    explorer = explorer_of(dt, priors, TERM, thresholds=(1.0,), ci_prob=0.95)
    grid = prior_grid(explorer, means=np.linspace(-0.7, 0.4, 20), sd=0.5)
    ps = [g.summary.below[1.0] for g in grid]
    assert len(grid) == 20 and all(a >= b for a, b in itertools.pairwise(ps))  # a prior moved to larger HRs lowers P
    same = explorer.at(explorer.stored)  # the stored prior: uniform weights, the plain posterior summary
    plain = summarise(log_hr_draws(dt, TERM), None, (1.0,), ci_prob=0.95)
    assert same.summary == plain and same.summary.khat == float("-inf")
    sds = prior_grid(explorer, sds=(2.0, 1.0, 0.5, 0.25))
    assert [g.prior.mu for g in sds] == [0.0] * 4


def test_stored_prior_set_gives_every_term_its_fitted_prior(base):
    dt, _, _, spec, _ = base
    back = stored_prior_set(dt.attrs["priors"], spec.contrast_term)
    draws = dt["posterior"]["log_hr"]
    np.testing.assert_allclose(back.prior_of(TERM).logpdf(draws.sel(term=TERM)),
                               dt["log_prior"]["log_hr"].sel(term=TERM), rtol=0, atol=1e-12)
    terms = ("tki_ici", "afp_gt400", "age_gt60")
    roles = TermRoles(("tki_ici",), {"afp_gt400": 2.0})
    for name in ("skeptical", "weakly_informative", "enthusiastic"):
        role_set = with_roles(prior_set(name), roles)
        assert stored_prior_set(role_set.to_json(), "tki_ici").for_terms(terms) == role_set.for_terms(terms)
        plain = prior_set(name)  # no roles: primary term gets the contrast prior, others `other`
        assert stored_prior_set(plain.to_json(), "afp_gt400").for_terms(terms) == plain.for_terms(terms, "afp_gt400")


def test_with_term_prior_changes_one_term_and_the_hash(base):
    _, priors, _, spec, _ = base
    roles = TermRoles(("tki_ici", "other_arm"))
    two = with_roles(prior_set("skeptical"), roles)
    moved = with_term_prior(two, "tki_ici", Normal(-0.5, 0.2))
    assert moved.prior_of("tki_ici") == Normal(-0.5, 0.2) and moved.prior_of("other_arm") == two.prior_of("other_arm")
    assert stored_prior_set(moved.to_json(), None).prior_of("tki_ici") == Normal(-0.5, 0.2)
    assert priors_json(with_term_prior(priors, TERM, Normal(0.0, 1.0)), spec) != priors_json(priors, spec)


def test_psis_input_sign():
    """arviz_stats' psislw takes the negative log ratio (the LOO convention): a ratio that grows with x must give
    weights that grow with x."""
    x = np.random.default_rng(3).normal(size=4000)
    w = psis_weights(0.5 * x)
    assert np.corrcoef(w.weights, x)[0, 1] > 0.9 and w.khat < 0.5
    assert w.ess < 4000 and abs(w.weights.sum() - 1) < 1e-12


# ---- the command ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def run_folder(base, study, tmp_path_factory):
    """A run folder as the engine lays it out: run.json (plan as data, study folder, cohort) and the fit stored
    under its key with its hashed inputs (a fit of the plan's arm_pfs analysis with these settings)."""
    dt, priors, data, spec, _ = base
    out = tmp_path_factory.mktemp("run")
    plan = load_plan(study.folder / "plan.toml")
    (out / "fits").mkdir()
    store_fit(dt.copy(deep=True), out / "fits" / "arm_pfs__weibull__weakly_informative.nc",
              fit_inputs(data, priors, spec, SETTINGS, SEED), "arm_pfs__weibull__weakly_informative", "arm_pfs", "")
    (out / "run.json").write_text(json.dumps({"plan": plan.to_dict(), "study_folder": str(study.folder),
                                              "cohort": str(study.cohort_path)}, default=str))
    return out


def test_cli_explore_prints_each_prior(run_folder, base, capsys):
    dt, priors, *_ = base
    code = main(["explore", str(run_folder), "--analysis", "arm_pfs", "--prior", "normal(0, 0.5)",
                 "--prior", "normal(1.5,0.1)", "--no-refit"])
    out = capsys.readouterr().out
    assert code == 0, out
    lines = out.splitlines()
    near = next(line for line in lines if line.startswith("Normal(0, 0.5)"))
    far = next(line for line in lines if line.startswith("Normal(1.5, 0.1)"))
    expected = explorer_of(dt, priors, TERM, thresholds=(1.0, 0.7), ci_prob=0.95).at(Normal(0.0, 0.5)).summary
    assert near.split()[-1] == "reweighted" and f"{expected.below[1.0]:.3f}" in near and f"{expected.median:.3f}" in near
    assert f"{expected.below[0.7]:.3f}" in near and "P(HR<0.7)" in out  # the plan's MCID of arm_pfs
    assert "unreliable, not refitted" in far


def test_run_folder_refit_rebuilds_the_fits_data(run_folder, base):
    """Beyond k̂ 0.7 the run folder's explorer refits on the data rebuilt from the study and cohort run.json names
    (checked against the fit's data hash), with the fit's settings and seed: the draws of a direct refit (the
    compiled model of the module's cache reused, so no compile)."""
    from hccbayes.inference.engine.explore_refit import run_refitter
    from hccbayes.inference.engine.explore_run import open_exploration

    _, priors, _, _, refitter = base
    explorer, fit_found, mcid = open_exploration(run_folder, "arm_pfs",
                                                 refit=functools.partial(run_refitter, cache=refitter.cache))
    assert fit_found.path.name == "arm_pfs__weibull__weakly_informative.nc" and mcid == 0.7
    far = Normal(1.5, 0.1)
    res = explorer.at(far)
    direct = summarise(log_hr_draws(refitter(with_term_prior(priors, TERM, far)), TERM), None, (1.0, 0.7), ci_prob=0.95)
    assert res.method == "refitted" and res.summary.median == direct.median


@pytest.mark.parametrize("argv,message", [
    (["--analysis", "nope", "--prior", "normal(0,1)"], "no survival fit of analysis 'nope'"),
    (["--analysis", "arm_pfs", "--prior", "normal(0, 0)"], "SD must be a positive number"),
    (["--analysis", "arm_pfs", "--prior", "cauchy(0, 1)"], "not normal(mu, sigma)"),
    (["--analysis", "arm_pfs", "--term", "age_gt60", "--prior", "normal(0,1)"], "term 'age_gt60' is not in the model"),
    (["--analysis", "arm_pfs", "--model", "pem", "--prior", "normal(0,1)"], "has no 'pem' fit"),
])
def test_cli_explore_errors_are_one_line(run_folder, capsys, argv, message):
    assert main(["explore", str(run_folder), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_cli_refuses_a_refit_on_changed_data(run_folder, tmp_path, study, capsys):
    """A run whose study cohort no longer gives the fit's data: the refit is refused (reweighting still works)."""
    info = json.loads((run_folder / "run.json").read_text())
    cohort = tmp_path / "cohort.csv"
    lines = study.cohort_path.read_text().splitlines()
    cohort.write_text("\n".join(lines[:-1]) + "\n")  # one patient fewer
    moved = tmp_path / "run"
    (moved / "fits").mkdir(parents=True)
    for f in (run_folder / "fits").iterdir():
        (moved / "fits" / f.name).write_bytes(f.read_bytes())
    (moved / "run.json").write_text(json.dumps({**info, "cohort": str(cohort)}))
    assert main(["explore", str(moved), "--analysis", "arm_pfs", "--prior", "normal(0, 0.5)"]) == 0
    assert main(["explore", str(moved), "--analysis", "arm_pfs", "--prior", "normal(1.5, 0.1)"]) == 2
    assert "other data than the fit" in capsys.readouterr().err



# ---- a fresh `hccbayes explore` imports only what a reweighted answer needs --------------------------------------
HEAVY = ("pandas", "scipy.stats", "xarray", "arviz_stats", "arviz_base", "pymc", "pytensor", "nutpie", "statsmodels",
         "matplotlib", "hccbayes.inference.fitting.fit", "hccbayes.data.study", "hccbayes.commands.audit")


def test_explore_command_imports_stay_light(run_folder):
    """In a fresh process the command answers (reweighted, refits enabled but not needed) without importing pandas,
    scipy.stats, xarray, ArviZ, PyMC or the other commands — what made it take over 2 s (issue 19 part 4)."""
    script = (f"import sys\nfrom hccbayes.cli import main\n"
              f"code = main(['explore', {str(run_folder)!r}, '--analysis', 'arm_pfs', '--prior', 'normal(0, 0.5)'])\n"
              f"print('imported:', code, sorted(m for m in {HEAVY!r} if m in sys.modules))\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "reweighted" in proc.stdout and proc.stdout.splitlines()[-1] == "imported: 0 []", proc.stdout


@pytest.mark.parametrize("spec", [SurvivalSpec("pfs", terms=("a", "b")), SurvivalSpec("pfs", terms=("a", "b"), primary="b"),
                                  SurvivalSpec("pfs")], ids=["first", "primary", "none"])
def test_stored_fit_contrast_term_is_the_specs(spec):
    from hccbayes.inference.engine.explore_run import StoredFit

    assert StoredFit(Path("fit.nc"), {"spec": spec.to_json()}).contrast_term == spec.contrast_term
