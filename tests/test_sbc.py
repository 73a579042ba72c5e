"""Simulation-based calibration: the rank statistic and uniformity tests on synthetic ranks with known
calibration, and a small SBC of every model (each survival family, regimen, beta-binomial) through the CLI (the
code path of the large run).
"""
import math

import numpy as np
import pandas as pd
import pytest

from hccbayes.cli import main
from hccbayes.inference.checks.sbc import (
    chi_square,
    default_bins,
    ecdf_test,
    null_ecdf_stats,
    rank_with_ties,
    summarise,
)
from hccbayes.inference.checks.sbc_models import MODEL_NAMES, REGIMENS

L = 99


def test_rank_counts_draws_below_the_prior_value():
    rng = np.random.default_rng(0)
    assert rank_with_ties(0.5, np.array([0.1, 0.7, 0.2, 0.9]), rng) == 2  # closed form: two draws below
    assert rank_with_ties(-1.0, np.zeros(5), rng) == 0 and rank_with_ties(1.0, np.zeros(5), rng) == 5


def test_ties_are_broken_uniformly():
    rng = np.random.default_rng(1)
    r = np.array([rank_with_ties(0.0, np.zeros(9), rng) for _ in range(20_000)])  # uniform on 0..9
    # closed form: mean 4.5, each value 1/10; 20 000 draws: MC sd of a frequency 0.0021, tolerance ~ 5 sd
    assert abs(r.mean() - 4.5) < 0.06
    assert np.allclose(np.bincount(r, minlength=10) / r.size, 0.1, atol=0.011)


def test_chi_square_and_ecdf_on_exactly_uniform_ranks():
    ranks = np.tile(np.arange(L + 1), 2)  # every rank twice: a perfectly flat histogram and ECDF
    chi, df, p = chi_square(ranks, L, 20)
    assert chi == 0.0 and df == 19 and p == pytest.approx(1.0)
    d, p_ks = ecdf_test(ranks, L, null_ecdf_stats(ranks.size, L))
    assert d == pytest.approx(0.0, abs=1e-12) and p_ks == 1.0
    assert default_bins(200, 99) == 20 and default_bins(20, 99) == 4 and default_bins(400, 49) == 10


def _normal_normal_ranks(sd_factor: float, shift: float, n_sims: int = 400, seed: int = 7) -> pd.DataFrame:
    """θ ~ N(0, 1), y | θ ~ N(θ, 1): exact posterior N(y/2, 1/√2); the 'posterior' used is scaled/shifted."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_sims):
        theta = rng.normal()
        y = rng.normal(theta, 1.0)
        sd = sd_factor / math.sqrt(2.0)
        draws = rng.normal(y / 2 + shift * sd, sd, L)
        rows.append({"model": "toy", "sim": i, "parameter": "theta", "rank": rank_with_ties(theta, draws, rng)})
    return pd.DataFrame(rows)


def test_calibrated_posterior_passes():
    s = summarise(_normal_normal_ranks(1.0, 0.0), L).iloc[0]
    # exact posterior: ranks uniform; with this fixed seed both p-values are far from 0.01
    assert not s["rejected"] and s["p_chi2"] > 0.05 and s["p_ks"] > 0.05, s.to_dict()


@pytest.mark.parametrize("sd_factor, shift", [(0.5, 0.0), (2.0, 0.0), (1.0, 0.5)],
                         ids=["too-narrow", "too-wide", "biased"])
def test_miscalibrated_posterior_is_rejected(sd_factor, shift):
    s = summarise(_normal_normal_ranks(sd_factor, shift), L).iloc[0]
    # 400 simulations: a half-width posterior puts ~1/3 of the ranks in the two extreme bins (U shape),
    # a double-width one piles them in the middle, a half-sd shift tilts them; all reject at Holm 0.01
    assert s["rejected"] and s["p_chi2_holm"] < 1e-4, s.to_dict()


def test_regimen_structure_matches_the_bundled_cohort():
    from hccbayes.data.cohort import load_cohort
    from hccbayes.data.study import load_study

    study = load_study("yin2025")
    df = load_cohort(study.cohort_path, study)
    counts = df.groupby(study.regimen_column).size().to_dict()
    # the sizes, arm by arm (reference first) and regimen by regimen in study.toml's order; the names are neutral
    arms = [study.reference_arm] + [a for a in study.arm_names if a != study.reference_arm]
    assert [[n for _, n in regs] for regs in REGIMENS.values()] == [
        [counts[r] for r in study.arm(a).regimens] for a in arms]


def test_small_sbc_of_all_models_through_the_cli(tmp_path, capsys):
    out = tmp_path / "sbc"
    argv = ["sbc", "all", "--n-sims", "20", "--draws", "100", "--tune", "150", "--rank-draws", "49",
            "--out", str(out), "--seed", "3", "--target-accept", "0.95"]
    code = main(argv)
    printed = capsys.readouterr()
    assert code in (0, 1), printed.err
    for name in ("ranks.csv", "summary.csv", "summary.md", "hist.csv", "ecdf.csv"):
        assert (out / name).stat().st_size > 0
    for model in MODEL_NAMES:
        for kind in ("ranks", "ecdf"):
            assert (out / f"{model}_{kind}.png").read_bytes()[:4] == b"\x89PNG"
    assert "target_accept 0.95" in (out / "summary.md").read_text()  # the sampler setting travels with the results
    ranks = pd.read_csv(out / "ranks.csv")
    assert ranks["rank"].between(0, 49).all()
    assert ranks.groupby("model")["sim"].nunique().to_dict() == dict.fromkeys(sorted(MODEL_NAMES), 20)
    summary = pd.read_csv(out / "summary.csv")
    assert set(summary["parameter"][summary["model"] == "regimen"]) >= {"log_hr[arm]", "regimen_tau[A]",
                                                                          "regimen_z[B3]", "weibull_shape"}
    assert summary[["p_chi2", "p_ks", "p_chi2_holm", "p_ks_holm"]].apply(lambda c: c.between(0, 1)).all().all()
    assert (summary["chi2"] >= 0).all() and (summary["bins"] == 2).all()  # 50 rank values, 20 sims: <= 4 bins dividing 50
    assert code == (1 if summary["rejected"].any() else 0)
    # a re-run into the same directory reuses all 20 simulations of each model and reproduces the ranks exactly
    assert main(argv) == code
    second = capsys.readouterr()
    assert f"0 simulations run, {20 * len(MODEL_NAMES)} reused" in second.out + second.err
    pd.testing.assert_frame_equal(pd.read_csv(out / "ranks.csv"), ranks)


def test_sbc_target_accept_outside_0_1_is_a_usage_error(tmp_path, capsys):
    assert main(["sbc", "weibull", "--n-sims", "2", "--target-accept", "1.2", "--out", str(tmp_path)]) == 2
    assert "target_accept must be in (0, 1)" in capsys.readouterr().err
