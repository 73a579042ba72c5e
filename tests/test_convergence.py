"""R-hat and ESS of many parameters at once (inference/fitting/convergence.py) against ArviZ's own array functions
(arviz_stats.base.array_stats.rhat / .ess, the independent implementation the diagnostics gate used before).

Tolerance: none. The module does ArviZ's operations in ArviZ's order (one FFT per parameter, ArviZ's FFT lengths,
its per-lag means), so the numbers must be the same to the bit; a tolerance would hide a change of estimator.
"""
import numpy as np
import pytest
import xarray as xr
from arviz_stats.base import array_stats

from hccbayes.inference.fitting import diagnostics
from hccbayes.inference.fitting.convergence import rhat_and_ess, usable

PROB = 0.89  # ArviZ's default stats.ci_prob, what the gate uses


def arrays():
    """(name, (element, chain, draw) array): independent draws, random walks (low ESS, R-hat far above 1), ties,
    heavy tails with a constant parameter, a nearly constant parameter, odd draw counts, 2 to 6 chains."""
    rng = np.random.default_rng(20261201)
    yield "normal 4x1000", rng.normal(size=(14, 4, 1000))
    yield "random walks", np.cumsum(rng.normal(size=(9, 3, 611)), axis=2) * 0.05 + rng.normal(size=(9, 3, 1))
    yield "ties", np.round(rng.normal(size=(7, 2, 554)), 1)
    heavy = rng.standard_t(2, size=(6, 5, 333))
    heavy[0] = 3.0
    yield "heavy tails, a constant", heavy
    yield "nearly constant", rng.normal(size=(5, 6, 907)) * 1e-8 + 5
    yield "short", rng.normal(size=(3, 2, 9))


@pytest.mark.parametrize("name,ary", list(arrays()), ids=[n for n, _ in arrays()])
def test_rhat_and_ess_are_arviz_to_the_bit(name, ary):
    rhat, bulk, tail = rhat_and_ess(ary, PROB)
    assert np.array_equal(rhat, np.asarray(array_stats.rhat(ary, chain_axis=-2, draw_axis=-1, method="rank")),
                          equal_nan=True), name
    assert np.array_equal(bulk, np.asarray(array_stats.ess(ary, chain_axis=-2, draw_axis=-1, method="bulk")),
                          equal_nan=True), name
    assert np.array_equal(tail, np.asarray(array_stats.ess(ary, chain_axis=-2, draw_axis=-1, method="tail",
                                                           prob=PROB)), equal_nan=True), name


def test_arrays_it_does_not_handle_are_left_to_arviz(monkeypatch):
    """A non-finite draw, one chain or fewer than 4 draws: ArviZ's own functions decide (NaN, warnings)."""
    rng = np.random.default_rng(3)
    with_nan = rng.normal(size=(2, 4, 100))
    with_nan[1, 0, 5] = np.nan
    assert not usable(with_nan) and not usable(rng.normal(size=(2, 1, 100))) and not usable(rng.normal(size=(2, 4, 3)))
    assert usable(rng.normal(size=(2, 2, 4)))

    def forbidden(*args):
        raise AssertionError("an array with a NaN went to convergence.rhat_and_ess")

    monkeypatch.setattr(diagnostics, "rhat_and_ess", forbidden)
    post = xr.Dataset({"b": (("chain", "draw"), with_nan[1])})
    stats = xr.Dataset({"diverging": (("chain", "draw"), np.zeros((4, 100), bool)),
                        "energy": (("chain", "draw"), rng.normal(size=(4, 100)))})
    dt = xr.DataTree.from_dict({"/posterior": post, "/sample_stats": stats})
    d = diagnostics.diagnose(dt)
    assert np.isnan(d.max_rhat)  # ArviZ's rank R-hat of an array with a NaN is NaN
