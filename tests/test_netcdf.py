"""Fit files written with the netCDF4 library directly (inference/fitting/netcdf.py).

The reference is xarray's own writer: the file read back with ``xarray.open_datatree`` must be ``identical``
(values, dims, coordinates, attributes) to the one xarray writes, and two writes of one tree give the same bytes
(a re-run rewrites identical files). A tree outside the supported shapes goes through xarray itself.
"""
import numpy as np
import pytest
import xarray as xr

from hccbayes.inference.fitting.netcdf import read_groups, writable, write_tree


def fit_like_tree(seed: int = 0) -> xr.DataTree:
    """The groups, dtypes and attributes of a survival fit (see inference/fitting/fit.py)."""
    rng = np.random.default_rng(seed)
    chain, draw = np.arange(4), np.arange(50)
    sample = {"chain": chain, "draw": draw}
    terms = ["arm", "afp"]
    patients = np.array([f"p{i}" for i in range(7)], dtype=object)  # as a fit stores the patient ids
    posterior = xr.Dataset({"log_hr": (("chain", "draw", "term"), rng.normal(size=(4, 50, 2))),
                            "intercept": (("chain", "draw"), rng.normal(size=(4, 50))),
                            "log_hazard": (("chain", "draw", "interval"), rng.normal(size=(4, 50, 3)))},
                           coords={**sample, "term": terms},
                           attrs={"creation_library": "nutpie", "sample_dims": ["chain", "draw"],
                                  "one_item": ["chain"]})
    stats = xr.Dataset({"diverging": (("chain", "draw"), rng.random((4, 50)) < 0.1),
                        "n_steps": (("chain", "draw"), rng.integers(1, 30, (4, 50)).astype(np.uint64)),
                        "energy": (("chain", "draw"), rng.normal(size=(4, 50)))}, coords=sample)
    loglik = xr.Dataset({"y": (("chain", "draw", "patient"), rng.normal(size=(4, 50, 7)))},
                        coords={**sample, "patient": patients})
    observed = xr.Dataset({"time": ("patient", rng.random(7)), "event": ("patient", [1.0, 0, 1, 1, 0, 1, np.nan])},
                          coords={"patient": patients})
    tree = xr.DataTree.from_dict({"/posterior": posterior, "/sample_stats": stats, "/log_likelihood": loglik,
                                  "/observed_data": observed})
    tree.attrs = {"spec": '{"model": "weibull"}', "seed": np.int64(7), "n_patients": 7, "sampling_ratio": 0.5,
                  "refit": ""}
    return tree


def _read(path):
    with xr.open_datatree(path, engine="netcdf4") as dt:
        return dt.load().copy(deep=True)


def test_reads_back_as_xarray_writes_it(tmp_path):
    tree = fit_like_tree()
    assert writable(tree)
    write_tree(tree, tmp_path / "ours.nc")
    tree.to_netcdf(tmp_path / "xarray.nc", engine="netcdf4")
    ours, theirs = _read(tmp_path / "ours.nc"), _read(tmp_path / "xarray.nc")
    assert ours.identical(theirs)
    assert ours["sample_stats"]["diverging"].dtype == bool  # stored as int8 with xarray's dtype attribute
    assert ours["posterior"].attrs["sample_dims"] == ["chain", "draw"]
    np.testing.assert_array_equal(ours["posterior"]["log_hr"].values, tree["posterior"]["log_hr"].values)


def test_the_same_tree_gives_the_same_bytes(tmp_path):
    write_tree(fit_like_tree(), tmp_path / "a.nc")
    write_tree(fit_like_tree(), tmp_path / "b.nc")
    assert (tmp_path / "a.nc").read_bytes() == (tmp_path / "b.nc").read_bytes()


@pytest.mark.parametrize("change", ["variable attrs", "float coordinate", "datetime", "nested group"])
def test_other_trees_are_written_by_xarray(tmp_path, change):
    tree = fit_like_tree()
    post = tree["posterior"].to_dataset()
    if change == "variable attrs":
        post["intercept"].attrs["units"] = "log hazard"
    elif change == "float coordinate":
        post = post.assign_coords(interval=[0.0, 1.5, 3.0])
    elif change == "datetime":
        post["when"] = ("chain", np.array(["2026-01-01"] * 4, dtype="datetime64[ns]"))
    tree["posterior"] = xr.DataTree(post)
    if change == "nested group":
        tree["posterior/extra"] = xr.DataTree(xr.Dataset({"z": ("k", [1.0, 2.0])}))
    assert not writable(tree)
    write_tree(tree, tmp_path / "ours.nc")
    tree.to_netcdf(tmp_path / "xarray.nc", engine="netcdf4")
    assert _read(tmp_path / "ours.nc").identical(_read(tmp_path / "xarray.nc"))


def _xarray_group(path, name):
    with xr.open_dataset(path, group=name, engine="netcdf4") as ds:
        return ds.load().copy(deep=True)


@pytest.mark.parametrize("writer", ["ours", "xarray"])
def test_groups_read_as_xarray_reads_them(tmp_path, writer):
    tree = fit_like_tree()
    path = tmp_path / "fit.nc"
    write_tree(tree, path) if writer == "ours" else tree.to_netcdf(path, engine="netcdf4")
    groups = ("posterior", "sample_stats", "log_likelihood", "observed_data")
    read = read_groups(path, groups)
    assert list(read) == [f"/{g}" for g in groups]
    for g in groups:
        theirs = _xarray_group(path, g)
        assert read[f"/{g}"].identical(theirs), g
        assert {k: v.dtype for k, v in read[f"/{g}"].variables.items()} == \
            {k: v.dtype for k, v in theirs.variables.items()}, g


def test_a_group_it_does_not_know_is_read_by_xarray(tmp_path):
    tree = fit_like_tree()
    post = tree["posterior"].to_dataset()
    post["intercept"].attrs["units"] = "log hazard"
    tree["posterior"] = xr.DataTree(post)
    tree.to_netcdf(tmp_path / "fit.nc", engine="netcdf4")
    read = read_groups(tmp_path / "fit.nc", ("posterior",))
    assert read["/posterior"]["intercept"].attrs == {"units": "log hazard"}
    assert read["/posterior"].identical(_xarray_group(tmp_path / "fit.nc", "posterior"))
