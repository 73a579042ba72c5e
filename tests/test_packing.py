"""A survival model's data in one ``pm.Data`` vector (models/survival/packing.py).

The model's tensors must be the arrays themselves, element for element and with their integer type: each is
compared exactly with the array it came from (no tolerance: the values are copies, and integers below 2**53
are exact in float64). The compiled-model reuse across sizes is checked by pointing the one vector at data of
another size and reading the arrays back.
"""
import numpy as np
import pymc as pm
import pytest

from hccbayes.models.priors.sets import prior_set
from hccbayes.models.survival.design import SurvivalSpec, survival_data
from hccbayes.models.survival.families import family
from hccbayes.models.survival.packing import PACKED, PackedData, pack

from survival_sim import SimStudy, weibull_ph


def _values(n: int, rng) -> dict[str, np.ndarray]:
    return {"X": rng.normal(size=(n, 3)), "event": rng.integers(0, 2, n).astype(float), "log_t_ref": np.array(2.5),
            "regimen_idx": rng.integers(0, 4, n), "log_hr_mu": np.zeros(3), "centring": rng.random((4, 4))}


def test_the_model_tensors_are_the_arrays():
    values = _values(17, np.random.default_rng(0))
    with pm.Model():
        md = PackedData(values)
        for name, array in values.items():
            got = md[name].eval()
            assert got.dtype.kind == ("i" if array.dtype.kind in "iu" else "f"), name
            np.testing.assert_array_equal(got, array, err_msg=name)


def test_arrays_may_change_size_between_fits():
    """One model (one compile) serves data sets of other sizes: the shapes travel in the vector."""
    rng = np.random.default_rng(1)
    with pm.Model() as model:
        md = PackedData(_values(17, rng))
    other = _values(40, rng)
    model[PACKED].set_value(pack(other)[PACKED])
    for name, array in other.items():
        np.testing.assert_array_equal(md[name].eval(), array, err_msg=name)


def test_integers_that_float64_cannot_hold_exactly_are_refused():
    with pytest.raises(ValueError, match="2\\*\\*53"):
        pack({"idx": np.array([2**53], dtype=np.int64)})


@pytest.mark.parametrize("model", ["weibull", "pem", "mspline"])
def test_a_survival_model_has_one_data_vector(model):
    """nutpie compiles each shared variable's unpacking separately (the module docstring): a family's model has
    exactly one, and the family's model data are its value."""
    df = weibull_ph(200, [-0.5, 0.3], 1.3, 0.05, seed=3)
    spec = SurvivalSpec("os", terms=("x1", "x2"), model=model)
    data = survival_data(df, SimStudy(), spec)
    fam = family(model)
    spec = fam.resolve(data, spec)
    built = fam.build(data, prior_set("weakly_informative"), spec)
    assert [v.name for v in built.data_vars] == [PACKED]
    np.testing.assert_array_equal(built[PACKED].get_value(),
                                  fam.model_data(data, prior_set("weakly_informative"), spec)[PACKED])
