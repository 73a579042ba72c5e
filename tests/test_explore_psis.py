"""The numpy Pareto smoothing of prior exploration (inference/sensitivity/psis.py) against ArviZ's own.

Source: ``arviz_stats.base.array_stats.psislw`` (arviz-stats, installed with the package), which takes the
negative log ratio (the LOO convention) — the routine the smoothing replaces. Tolerance 1e-12 on the log weights
and on k̂: the same operations in the same order, so only the last bits of a log-sum-exp may differ (measured:
at most 1e-16). The vectors span what exploration meets: light tails (k̂ < 0.5), the 0.5–0.7 band, heavy tails far
beyond 0.7 (Student t, Cauchy, log-Pareto), fewer than 226 draws (the ⌊S/5⌋ tail), ties, and a tail too flat
for a generalised Pareto (k̂ not a number: no smoothing).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from arviz_stats.base import array_stats

from hccbayes.inference.sensitivity.psis import psis_log_weights, tail_length
from hccbayes.inference.sensitivity.reweight import psis_weights

TOL = 1e-12  # module docstring


def _vectors() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(20251201)
    flat = np.concatenate([rng.normal(size=3800) - 10, np.zeros(150), rng.uniform(1, 2, 50)])
    return {
        "normal, k<0.5": 0.5 * rng.normal(size=4000),
        "normal, k~0.6": 1.7 * rng.normal(size=4000),
        "student t3": rng.standard_t(3, size=4000),
        "cauchy": 0.05 * rng.standard_cauchy(size=4000),
        "cauchy, wide": 0.3 * rng.standard_cauchy(size=4000),
        "log-pareto": np.log1p(rng.pareto(0.8, size=4000)),
        "squared normal": 2 * rng.normal(size=4000) ** 2,
        "210 draws": rng.normal(size=210),
        "1000 exponential": 3 * rng.exponential(size=1000),
        "ties": np.round(rng.normal(size=4000), 1),
        "flat tail": rng.permutation(flat),
    }


@pytest.mark.parametrize("name", list(_vectors()))
def test_psis_equals_arviz_stats(name):
    lr = _vectors()[name]
    ref_lw, ref_k = array_stats.psislw(-lr, r_eff=1, axis=-1)
    lw, k = psis_log_weights(lr)
    if math.isnan(float(ref_k)):
        assert math.isnan(k)
    else:
        assert abs(k - float(ref_k)) <= TOL, (k, float(ref_k))
    np.testing.assert_allclose(lw, ref_lw, rtol=0, atol=TOL)
    assert abs(np.log(np.sum(np.exp(lw)))) <= TOL  # normalised


def test_the_vectors_span_the_khat_range():
    """What the comparison covers (else a test above could pass on light tails alone)."""
    ks = {name: psis_log_weights(lr)[1] for name, lr in _vectors().items()}
    assert ks["normal, k<0.5"] < 0.5 < ks["normal, k~0.6"] <= 0.7 < min(ks["student t3"], ks["cauchy"])
    assert ks["cauchy"] > 2 and math.isnan(ks["flat tail"])
    assert tail_length(210) == 42 and tail_length(4000) == 189  # ⌊S/5⌋ up to 225 draws, ⌊3√S⌋ above


def test_psis_refuses_what_arviz_refuses():
    with pytest.raises(ValueError, match="at least 25"):
        psis_log_weights(np.arange(24.0))
    with pytest.raises(ValueError, match="all tail values"):
        psis_log_weights(np.r_[np.zeros(3000), np.ones(1000)])


def test_reweighting_uses_the_smoothed_weights():
    lr = _vectors()["student t3"]
    w = psis_weights(lr)
    ref_lw, ref_k = array_stats.psislw(-lr, r_eff=1, axis=-1)
    ref = np.exp(ref_lw - ref_lw.max())
    np.testing.assert_allclose(w.weights, ref / ref.sum(), rtol=0, atol=TOL)
    assert w.khat == pytest.approx(float(ref_k), abs=TOL) and not w.reliable
