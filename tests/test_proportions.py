"""Frequentist proportion tests and the recomputation of the paper's printed p-values."""
from __future__ import annotations

import math

import pytest
from scipy import stats

from hccbayes.data.published.registry import load_registry
from hccbayes.inference.frequentist.proportions import (
    contingency_test,
    fisher_freeman_halton,
    rank_test,
    recompute_published_p,
)


@pytest.fixture(scope="module")
def recomputed():
    return recompute_published_p(load_registry("yin2025")).set_index("row")


def test_table3_dcr_pearson_reproduces_published_0026():
    # Table 3 DCR: 13/21 (TKI) vs 42/49 (TKI+ICI), published p = 0.026.
    # Pearson X² by hand: N(ad − bc)² / (r1 r2 c1 c2) = 70·(13·7 − 8·42)² / (21·49·55·15) = 4.9495
    x2 = 70 * (13 * 7 - 8 * 42) ** 2 / (21 * 49 * 55 * 15)
    res = contingency_test([[13, 42], [8, 7]])
    assert res.pearson_p == pytest.approx(stats.chi2.sf(x2, 1), rel=1e-12)
    # reproduces the printed 0.026 to its rounding (half a unit of the 3rd decimal)
    assert abs(res.pearson_p - 0.026) <= 0.0005
    # but the smallest expected count is 15·21/70 = 4.5 < 5, so the stated rule picks Fisher (p = 0.053)
    assert res.min_expected == pytest.approx(4.5, rel=1e-12)
    assert res.test == "fisher" and res.p == pytest.approx(stats.fisher_exact([[13, 42], [8, 7]]).pvalue, rel=1e-12)


def test_table1_gender_reproduces_published_1(recomputed):
    # Table 1 gender: female 3/21 vs 8/49, published p = 1; min expected 11·21/70 = 3.3 -> Fisher, p = 1.000
    row = recomputed.loc["gender"]
    assert row.test == "fisher"
    assert abs(row.recomputed_p - 1.0) <= 0.0005  # "1" read as 1.000 (module docstring)
    assert not row.differs


def test_exact_rxc_enumeration_equals_scipy_2x2_fisher():
    # for 2 × 2 tables the Fisher–Freeman–Halton p is Fisher's two-sided p (scipy), to 1e-12
    for t in ([[1, 20], [1, 48]], [[3, 18], [8, 41]], [[0, 5], [6, 1]], [[13, 8], [42, 7]]):
        p, how = fisher_freeman_halton(t)
        assert how == "exact" and p == pytest.approx(stats.fisher_exact(t).pvalue, abs=1e-12)


def test_exact_rxc_agrees_with_scipy_monte_carlo():
    # Table 1 etiology (HBV/HCV/Other × arm). scipy's r × c Fisher is Monte Carlo: with N = 99 999
    # resamples its SE is sqrt(p(1 − p)/N) ≈ 0.0012; allow 4 SE
    t = [[19, 44], [2, 3], [0, 2]]
    p, how = fisher_freeman_halton(t)
    mc = stats.fisher_exact(t, method=stats.MonteCarloMethod(n_resamples=99_999, rng=1)).pvalue
    assert how == "exact"
    assert abs(p - mc) <= 4 * math.sqrt(p * (1 - p) / 99_999)


def test_every_printed_p_of_tables_1_3_6_is_recomputed_and_differences_are_flagged(recomputed):
    # Table 1: 15 categorical p-values (12 multi-level rows, 3 prior-treatment rows); Table 3: 6; Table 6: 8
    assert (recomputed.table == "t1").sum() == 15
    assert (recomputed.table == "t3").sum() == 6
    assert (recomputed.table == "t6").sum() == 8
    # Table 3 PR: 3/21 vs 7/49 are identical proportions (14.3% each), so every test gives p = 1; the
    # printed 0.942 is reproduced by none of them
    pr = recomputed.loc["best_response:PR"]
    assert pr.differs and pr.matching_tests == "none" and pr.recomputed_p == pytest.approx(1.0, abs=1e-12)
    # Table 3 PD and DCR (both min expected 4.5): the paper's 0.026 is Pearson, the rule gives Fisher 0.053
    for r in ("best_response:PD", "best_response:DCR"):
        assert recomputed.loc[r].differs and recomputed.loc[r].matching_tests == "pearson"
    # every differing row is flagged with its difference, none hidden
    flagged = recomputed[recomputed.differs]
    assert (flagged.difference.abs() > flagged.tolerance).all()
    assert not recomputed[~recomputed.differs].difference.abs().gt(recomputed.tolerance + 1e-12).any()


def test_rank_test_closed_form():
    # x = (1, 2, 3), y = (4, 5, 6): complete separation; exact two-sided p = 2 / C(6, 3) = 0.1
    assert rank_test([1, 2, 3], [4, 5, 6]) == pytest.approx(0.1, abs=1e-12)
