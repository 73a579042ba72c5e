"""Response-rate models: closed-form beta-binomial, mixtures, registry and cohort
inputs, and one PyMC check of the closed form. Sources and tolerances are stated at each assertion."""
from __future__ import annotations

import math
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import special, stats

from hccbayes.data.published.registry import load_registry
from hccbayes.data.study import load_study
from hccbayes.inference.engine.rows_counts import compare, rate_rows
from hccbayes.inference.engine.table import Rows
from hccbayes.inference.fitting.diagnostics import diagnose
from hccbayes.models.priors.rates import BetaPrior, MixturePrior, informative, jeffreys, robust, uniform
from hccbayes.models.priors.roles import default_roles
from hccbayes.models.priors.sets import PriorSet, external_prior_set, named_prior_sets
from hccbayes.models.priors.values import prior_from_json
from hccbayes.models.response.beta_binomial import compare_rates, posterior, prob_greater, summarise
from hccbayes.models.response.counts import (
    consistent_group_sizes,
    count_from_percent,
    rates_from_cohort,
    rates_from_registry,
)

sys.path.insert(0, str(Path(__file__).parent))

DCR = {"arm:TKI": (13, 21), "arm:TKI+ICI": (42, 49)}  # Table 3, disease control rate


@pytest.fixture(scope="module")
def registry():
    return load_registry("yin2025")


def test_beta_posterior_parameters_and_quantiles_are_scipy_beta():
    # closed form: Beta(1,1) prior + 13/21 (Table 3 DCR, TKI) -> Beta(14, 9); quantiles must be
    # scipy.stats.beta.ppf exactly (same function, same arguments: tolerance 0)
    post = posterior(uniform(), 13, 21)
    assert (post.a, post.b) == (14.0, 9.0)
    s = summarise(post, ci_prob=0.95)
    np.testing.assert_array_equal([s.lower, s.median, s.upper], stats.beta.ppf([0.025, 0.5, 0.975], 14, 9))
    assert s.mean == 14 / 23  # closed-form mean a/(a+b), exact in floating point


def test_mixture_posterior_weights_match_hand_calculation():
    # Schmidli et al. 2014 eq. (3): w'_k ∝ w_k · B(a_k + x, b_k + n − x) / B(a_k, b_k).
    # Prior 0.5·Beta(3,7) + 0.5·Beta(1,1), data 13/21:
    #   B(16,15)/B(3,7) = 1.08305e-07,  B(14,9)/B(1,1) = 2.23375e-07
    #   w'_1 = 0.5·1.08305 / (0.5·1.08305 + 0.5·2.23375) = 0.326535
    prior = robust(BetaPrior(3, 7), weight=0.5)
    post = posterior(prior, 13, 21)
    assert post.weights[0] == pytest.approx(0.326535, abs=1e-6)  # hand value printed to 6 decimals
    assert post.components[0] == BetaPrior(16, 15, post.components[0].label)
    assert post.components[1].a == 14 and post.components[1].b == 9
    # mixture quantiles invert the mixture cdf: cdf(ppf(q)) = q to the root-finder's tolerance 1e-10
    q = np.array([0.025, 0.5, 0.975])
    np.testing.assert_allclose(post.cdf(post.ppf(q)), q, atol=1e-10)


def test_exact_prob_greater_matches_closed_sum_and_draws():
    # For integer Beta parameters, P(p_B > p_A) = sum_{i=0}^{aB-1} B(aA+i, bA+bB) / ((bB+i) B(1+i, bB) B(aA, bA))
    # (Cook 2005, "Exact calculation of beta inequalities"); quadrature must agree to 1e-8 (QUADPACK
    # absolute error estimates are < 1e-10 here).
    aA, bA, aB, bB = 14, 9, 43, 8  # Beta(1,1) posteriors of Table 3 DCR (TKI, TKI+ICI)
    exact = sum(math.exp(special.betaln(aA + i, bA + bB) - math.log(bB + i) - special.betaln(1 + i, bB)
                         - special.betaln(aA, bA)) for i in range(aB))
    assert prob_greater(BetaPrior(aB, bB), BetaPrior(aA, bA)) == pytest.approx(exact, abs=1e-8)
    # X ~ Beta(a, 1), Y ~ Beta(b, 1): P(X > Y) = a / (a + b) (densities a x^(a-1)); e.g. all 49/49 vs 21/21
    # responders under Beta(1,1) -> Beta(50, 1) vs Beta(22, 1): 50/72
    assert prob_greater(BetaPrior(50, 1), BetaPrior(22, 1)) == pytest.approx(50 / 72, abs=1e-8)
    comp = compare_rates(DCR, "arm:TKI", "weakly_informative", n_draws=40_000, seed=11)
    # Monte Carlo: independent exact draws, so |MC − exact| <= 4 · sqrt(P(1−P)/N) (4 standard errors)
    assert abs(comp.prob_gt[0.0] - exact) <= 4 * math.sqrt(exact * (1 - exact) / 40_000)
    assert comp.prob_gt0_exact == pytest.approx(exact, abs=1e-8)


def test_exact_probabilities_at_every_threshold_reach_the_table():
    """Issue 16 part 5: P(Δrate > t) in the table is the exact quadrature value at every threshold; the draws'
    value is in the note. Checks: X ~ Beta(2, 1), Y ~ Beta(1, 1): P(X − Y > d) = ∫_d^1 (x − d)·2x dx
    = (2/3)(1 − d³) − d(1 − d²) (closed form, 1e-8: QUADPACK's error); a negative threshold adds the
    mass where p_r < −d; and the Table 3 ORR comparison (weakly informative) reads 0.3541, not the Monte
    Carlo 0.3598 of 10,000 draws that the table showed before (issue 16)."""
    for d in (0.0, 0.05, 0.3):
        assert prob_greater(BetaPrior(2, 1), BetaPrior(1, 1), d) == pytest.approx(
            2 / 3 * (1 - d**3) - d * (1 - d**2), abs=1e-8)
    # P(X − Y > −d) = 1 − P(Y − X > d) = 1 − ∫_0^{1−d} 2x(1 − d − x) dx = 1 − (1 − d)³/3
    assert prob_greater(BetaPrior(2, 1), BetaPrior(1, 1), -0.2) == pytest.approx(1 - 0.8**3 / 3, abs=1e-8)
    orr = {"arm:TKI": (4, 21), "arm:TKI+ICI": (8, 49)}  # Table 3 ORR
    comp = compare_rates(orr, "arm:TKI", "weakly_informative", thresholds=(0.0, 0.1), seed=1)
    rows = Rows()
    rate_rows(rows, comp, "TKI+ICI vs TKI")
    probs = {r["threshold"]: r for r in rows.rows if "probability" in r}
    assert probs[0.0]["probability"] == comp.prob_gt_exact[0.0] == pytest.approx(0.3541, abs=5e-5)
    assert probs[0.1]["probability"] == comp.prob_gt_exact[0.1]
    assert f"from the 10000 draws {comp.prob_gt[0.0]:.4f}" in probs[0.0]["note"]
    for t, exact in comp.prob_gt_exact.items():  # the draws agree within 4 Monte Carlo SE
        assert abs(comp.prob_gt[t] - exact) <= 4 * math.sqrt(exact * (1 - exact) / comp.n_draws)


def test_priors_and_prior_sets_round_trip_json():
    mix = robust(informative(10, 50, a0=0.5), weight=0.7)
    for prior in (uniform(), jeffreys(), informative(3, 20), mix):
        assert prior_from_json(prior.to_json()) == prior
    for pset in list(named_prior_sets().values()) + [external_prior_set({"arm:TKI": (40, 379)})]:
        assert PriorSet.from_dict(pset.to_dict()) == pset
    # informative(x, n) is Beta(1 + x, 1 + n − x) (documented convention)
    assert (informative(3, 20).a, informative(3, 20).b) == (4.0, 18.0)
    with pytest.raises(ValueError):
        MixturePrior((1.0,), (uniform(), jeffreys()))


def test_clinical_sets_are_not_beta_binomial_sets_that_reuse_the_data():
    """Issue 16 part 4: no response prior is centred on the data's own pooled rate any more; the clinical names
    point to the log-odds model (tests/test_response_logistic.py)."""
    kinds = {name: ps.rates.kind for name, ps in named_prior_sets().items()}
    assert kinds == {"vague": "fixed", "weakly_informative": "fixed", "skeptical": "log_odds",
                     "enthusiastic": "log_odds", "pessimistic": "log_odds"}
    for name in ("skeptical", "enthusiastic", "pessimistic"):
        with pytest.raises(KeyError, match="hccbayes.models.response.logistic"):
            compare_rates(DCR, "arm:TKI", name)


def test_afp_change_counts_are_derived_from_percent_and_group_size(registry):
    # Results 2.3: 25 (TKI-ICI) + 12 (TKI) patients with elevated AFP -> n = 37; 70 − 37 = 33 decreased.
    # Results 2.4: ORR 24.2% / DCR 78.8% (decreased), 16.2% / 73.0% (elevated) -> 8/33, 26/33, 6/37, 27/37
    # (integers: exact).
    rates = {r.endpoint: r for r in rates_from_registry(registry, ["afp_change_response"])}
    assert rates["best_response:ORR"].counts == {"afp_change:decreased": (8, 33), "afp_change:elevated": (6, 37)}
    assert rates["best_response:DCR"].counts == {"afp_change:decreased": (26, 33), "afp_change:elevated": (27, 37)}
    assert "n = 33" in rates["best_response:ORR"].note
    assert count_from_percent(24.2, 1, 33) == 8 and count_from_percent(24.2, 1, 34) is None
    assert 33 in consistent_group_sizes([(24.2, 1), (78.8, 1)], n_max=70)


def test_registry_run_covers_every_table3_and_table6_comparison(registry):
    study = load_study("yin2025")
    rates = rates_from_registry(registry)
    t3 = [r for r in rates if r.analysis == "best_response"]
    t6 = [r for r in rates if r.analysis == "adverse_event"]
    # Table 3 prints 6 rows (CR, PR, SD, PD, ORR, DCR); Table 6 prints 21 events × 2 grades
    assert len(t3) == 6
    assert len(t6) == 2 * len(study.adverse_events) == 42
    sets = ("vague", "weakly_informative", "skeptical", "enthusiastic", "pessimistic")
    analysis = SimpleNamespace(mcid=0.7, historical={}, historical_weight=0.5)
    table = Rows()
    for r in rates:
        for name in sets:
            rate_rows(table, compare(r, name, analysis, study, default_roles(study), (0.0, 0.05, 0.10), 1),
                      r.contrast)
    rows = table.rows
    n_cmp = len(rates)  # 6 + 42 + 2 AFP-change comparisons
    assert n_cmp == 50
    # per comparison and set: 2 rates + RD/RR/OR + P(diff > δ) for δ in (0, 0.05, 0.10) = 8 rows
    assert len(rows) == n_cmp * len(sets) * 8
    diffs = [r for r in rows if r["quantity"] == "rate_diff" and "probability" not in r]
    probs = [r for r in rows if r["quantity"] == "rate_diff" and r.get("threshold") == 0]
    assert len(diffs) == len(probs) == n_cmp * len(sets)
    assert {r["source"] for r in rows} == ({f"bayes:beta_binomial:{s}" for s in sets[:2]}
                                           | {f"bayes:logistic:{s}" for s in sets[2:]})
    assert all(0 <= r["probability"] <= 1 for r in probs)


def test_rates_from_cohort_by_arm():
    from cohort_factory import make_cohort

    study = load_study("yin2025")
    df = make_cohort(study, n=40, seed=2)
    rates = {r.endpoint: r for r in rates_from_cohort(df, study)}
    orr = rates["best_response:ORR"]
    assert orr.groups == ("arm:TKI", "arm:TKI+ICI")
    # counts are the cohort's own tallies (exact)
    for g, (x, n) in orr.counts.items():
        sub = df[df["arm"].astype(str) == g.split(":", 1)[1]]
        assert n == len(sub) and x == int(sub["best_response"].astype(str).isin(["CR", "PR"]).sum())
    assert f"ae:{study.adverse_events[0][0]}:any" in rates


def _sample(model, seed: int):
    import pymc as pm

    with model:
        return pm.sample(draws=1000, tune=1000, chains=4, random_seed=seed, progressbar=False)


def test_pymc_beta_binomial_agrees_with_closed_form():
    import arviz as az

    from hccbayes.models.response.hierarchical import build_beta_binomial

    priors = {g: uniform() for g in DCR}
    idata = _sample(build_beta_binomial(DCR, priors), seed=20250212)
    assert diagnose(idata).ok  # the project's diagnostics gate
    post = idata["posterior"].to_dataset()
    mean, mcse = post["p"].mean(("chain", "draw")), az.mcse(post, method="mean")["p"]
    for g, (x, n) in DCR.items():
        closed = posterior(uniform(), x, n).mean()  # (1 + x)/(2 + n)
        # MCMC mean within 4 × its Monte Carlo standard error of the exact posterior mean
        assert abs(float(mean.sel(group=g)) - closed) <= 4 * float(mcse.sel(group=g))


def test_hierarchical_model_partially_pools_regimens():
    from hccbayes.models.response.hierarchical import add_group_rates, build_hier_beta_binomial, regimen_counts

    from cohort_factory import make_cohort

    study = load_study("yin2025")
    df = make_cohort(study, n=70, seed=3)
    counts = regimen_counts(df, study, "ORR")
    assert list(counts) == list(study.regimens)  # the five regimens in study order
    model = build_hier_beta_binomial(counts)
    assert "alpha" not in model.named_vars  # ArviZ psense convention (DESIGN.md)
    idata = _sample(model, seed=7)
    assert diagnose(idata).ok
    add_group_rates(idata, counts, seed=7)
    post_means = idata["posterior"]["p"].mean(("chain", "draw")).values
    raw = np.array([x / n for x, n in counts.values()])
    # partial pooling: every draw's E[p_j | mu, kappa, x] is a weighted average of mu and x_j/n_j, so the
    # spread of posterior means is smaller than the spread of the raw rates (strict; MC error ~0.003)
    assert np.ptp(post_means) < np.ptp(raw)
