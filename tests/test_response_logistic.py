"""Response priors that do not reuse the data (issue 16 part 4): the clinical sets on the log-odds scale.

Sources: closed forms (a Normal prior's tail; with no data the posterior is the prior, so P(p_c > p_r) =
P(β > 0)); the conjugate beta-binomial (flat priors on both log-odds are the Haldane Beta(0, 0) priors, whose
posteriors are Beta(x, n − x): P(p_c − p_r > t) is then hccbayes' exact quadrature of two Betas, itself tested
against Cook's closed sum in test_response.py); and the grid's own convergence.
"""
import math

import numpy as np
import pytest
from scipy import stats

from hccbayes.data.published.registry import load_registry
from hccbayes.data.study import STUDIES_DIR
from hccbayes.inference.engine.links import response_links
from hccbayes.inference.engine.plan import load_plan
from hccbayes.inference.engine.rows_counts import response_rows
from hccbayes.models.priors.rates import BetaPrior
from hccbayes.models.response import logistic
from hccbayes.models.response.beta_binomial import prob_greater
from hccbayes.models.response.logistic import LogOddsPriors, compare_rates_logistic, log_odds_priors

ORR = {"arm:TKI": (4, 21), "arm:TKI+ICI": (8, 49)}  # Table 3
DCR = {"arm:TKI": (13, 21), "arm:TKI+ICI": (42, 49)}
S = math.log(1 / 0.7) / stats.norm.ppf(0.95)  # the MCID 0.7 as an odds ratio 1/0.7, 5% prior mass beyond


@pytest.mark.parametrize("kind,p_treatment", [("skeptical", 0.5), ("enthusiastic", 0.95), ("pessimistic", 0.05)])
def test_with_no_data_the_probabilities_are_the_calibrated_prior_tails(kind, p_treatment):
    """0 of 0 in both groups: P(p_c > p_r) = P(β > 0) — 0.5, 0.95 and 0.05 for a treatment contrast (the tails
    are calibrated like the survival sets: P(OR < 1) = 0.05 under enthusiastic), 0.5 for any other comparison
    (neutral shrinkage). Tolerance 1e-6: quadrature error (the grid converges to ~1e-8, test below)."""
    none = {"r": (0, 0), "c": (0, 0)}
    for treatment, expected in ((True, p_treatment), (False, 0.5)):
        priors = log_odds_priors(kind, treatment, 0.7)
        comp = compare_rates_logistic(none, "r", priors, kind, thresholds=(0.0,))
        assert comp.prob_gt_exact[0.0] == pytest.approx(expected, abs=1e-6), (kind, treatment)
    en = log_odds_priors("enthusiastic", True, 0.7)
    assert (en.beta_mean, en.beta_sd) == (pytest.approx(math.log(1 / 0.7), abs=1e-12), pytest.approx(S, rel=1e-12))
    assert stats.norm.cdf(0.0, en.beta_mean, en.beta_sd) == pytest.approx(0.05, abs=1e-12)
    # the priors are built from the set, the role and the MCID alone: no count enters them
    assert log_odds_priors("skeptical", True, 0.7) == log_odds_priors("skeptical", True, 0.7)


@pytest.mark.parametrize("counts", [ORR, DCR])
def test_flat_priors_give_the_conjugate_beta_probabilities(counts):
    """Normal(0, 100) on both log-odds ≈ flat: P(p_c − p_r > t) = that of Beta(x, n − x) posteriors, within 1e-4
    (what remains is the priors' curvature at sd 100, not quadrature: it does not change with the grid)."""
    flat = LogOddsPriors((1.0,), (0.0,), (100.0,), 0.0, 100.0, "flat")
    comp = compare_rates_logistic(counts, "arm:TKI", flat, "flat", thresholds=(0.0, 0.05, -0.1))
    (xr, nr), (xc, nc) = counts["arm:TKI"], counts["arm:TKI+ICI"]
    for t, p in comp.prob_gt_exact.items():
        assert p == pytest.approx(prob_greater(BetaPrior(xc, nc - xc), BetaPrior(xr, nr - xr), t), abs=1e-4), t
        # the draws agree within 4 Monte Carlo SE
        assert abs(comp.prob_gt[t] - p) <= 4 * math.sqrt(p * (1 - p) / comp.n_draws) + 1e-12


def test_the_grid_has_converged(monkeypatch):
    """The table's grid (201 points per axis) against one of 1601: within 1e-6 (measured ≤ 3e-8 over Table 3/6-like
    counts, including 0 and all events)."""
    for counts in (ORR, {"arm:TKI": (0, 21), "arm:TKI+ICI": (3, 49)}, {"arm:TKI": (21, 21), "arm:TKI+ICI": (40, 49)}):
        priors = log_odds_priors("enthusiastic", True, 0.7)
        coarse = compare_rates_logistic(counts, "arm:TKI", priors, "e", thresholds=(0.0, 0.05)).prob_gt_exact
        monkeypatch.setattr(logistic, "GRID", 1601)
        fine = compare_rates_logistic(counts, "arm:TKI", priors, "e", thresholds=(0.0, 0.05)).prob_gt_exact
        monkeypatch.setattr(logistic, "GRID", 201)
        for t in coarse:
            assert coarse[t] == pytest.approx(fine[t], abs=1e-6)


def test_historical_counts_enter_as_a_robust_mixture():
    """A historical 3/30 for the reference group pulls its rate down from the data's 4/21 (and the mixture's vague
    half keeps the data in charge): the posterior median lies between the no-history one and 3/30."""
    without = compare_rates_logistic(ORR, "arm:TKI", log_odds_priors("skeptical", True, 0.7), "s")
    history = log_odds_priors("skeptical", True, 0.7, reference_counts=(3, 30), weight=0.5)
    assert history.alpha_weights == (0.5, 0.5) and "historical 3/30" in history.description
    withh = compare_rates_logistic(ORR, "arm:TKI", history, "s")
    assert 0.1 < withh.summaries["arm:TKI"].median < without.summaries["arm:TKI"].median


def test_engine_rows_take_the_clinical_sets_on_the_log_odds_scale(study, cohort):
    plan = load_plan(STUDIES_DIR / "yin2025" / "plan.toml")
    registry = load_registry("yin2025")
    rows = []
    for aid in ("t3_response", "afp_change_response"):
        a = plan.analysis(aid)
        rows += response_rows(a, response_links(a, registry), cohort, study, lambda *k: 1, plan.roles)
    by = {}
    for r in rows:
        if r.get("quantity") == "rate_diff" and "probability" not in r and not r["cohort_based"]:
            by[(r["analysis"], r["endpoint"], r["prior_set"])] = r
    arm = by[("t3_response", "best_response:ORR", "enthusiastic")]
    assert arm["model"] == "logistic" and "(treatment contrast, OR 1.43 as the MCID)" in arm["note"]
    afp = by[("afp_change_response", "best_response:ORR", "enthusiastic")]
    assert "not a treatment contrast: neutral shrinkage" in afp["note"]
    assert by[("t3_response", "best_response:ORR", "weakly_informative")]["model"] == "beta_binomial"
    assert "prior: TKI Beta(1, 1), TKI+ICI Beta(1, 1)" in by[("t3_response", "best_response:ORR",
                                                               "weakly_informative")]["note"]
    probs = [r for r in rows if r.get("probability") is not None and r["model"] == "logistic"]
    assert probs and all(0 <= r["probability"] <= 1 for r in probs)
    assert np.isfinite([r["probability"] for r in probs]).all()
