"""A fit's DataTree written to NetCDF-4 with the netCDF4 library directly, in a fraction of xarray's time.

``DataTree.to_netcdf`` spends most of a fit file's write on its generic machinery around each variable (encoding
checks, the file manager's lock and cache, the file reopened for each group) rather than in the NetCDF library:
about 50 ms a 70-patient fit (36 variables in six groups) in a run. :func:`write_tree` makes the library calls
xarray makes for the trees a fit is — groups of float, integer and boolean variables with string or integer
dimension coordinates, attributes of strings and numbers: the same dimensions, variables, types, fill values and
attributes, in one pass over an open file — so xarray reads back the tree it would read from its own file
(tests/test_netcdf.py); the bytes differ from xarray's only in netCDF's bookkeeping of dimension ids (it notes
them on some variables when a file is reopened, as xarray does per group) and are the same on every write of the
same tree. Anything else (a variable with attributes or an encoding of its own, a non-dimension coordinate, a
float coordinate, another dtype, nested groups, data in the root) is written by xarray itself.

:func:`read_groups` reads groups of such a file back as xarray does, opening the file once (xarray opens it
per group): what the model checks and the rows of a cached fit read.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

FORMAT = "NETCDF4"


def _plain_attr(value) -> bool:
    return isinstance(value, (str, int, float, np.integer, np.floating)) or \
        (isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value))


def _kind(var) -> str:
    """The dtype kind, with an object array of strings as strings ("U"), which xarray writes as such."""
    kind = var.dtype.kind
    if kind == "O" and all(isinstance(v, str) for v in var.values.ravel()):
        return "U"
    return kind


def _plain_var(name, var, ds) -> bool:
    kind = _kind(var)
    if var.attrs or var.encoding or kind not in "fiubU":
        return False
    if name in ds.coords:  # a dimension coordinate of strings or integers
        return var.dims == (name,) and kind in "iuU"
    return True


def writable(dt) -> bool:
    """Whether :func:`write_tree` writes ``dt`` itself (else it leaves it to xarray): see the module docstring."""
    if dt.has_data or any(not _plain_attr(v) for v in dt.attrs.values()):
        return False
    for node in dt.children.values():
        ds = node.to_dataset()
        if node.children or any(not _plain_attr(v) for v in ds.attrs.values()):
            return False
        if any(c not in ds.dims for c in ds.coords) or not all(_plain_var(k, v, ds) for k, v in ds.variables.items()):
            return False
    return True


def _set_attrs(target, attrs) -> None:
    for key, value in attrs.items():  # as xarray's NetCDF4DataStore.set_attribute
        array = np.asarray(value)
        if array.dtype.kind in "US" and array.size > 1:  # xarray's _is_list_of_strings: NC_STRING
            target.setncattr_string(key, value)
        else:
            target.setncattr(key, value)


def _write_group(root, name: str, ds, skip_attrs: tuple[str, ...] = ()) -> None:
    group = root.createGroup(name)
    _set_attrs(group, _kept(ds.attrs, skip_attrs))
    for var in ds.variables.values():  # dimensions in the order the variables first use them
        for dim in var.dims:
            if dim not in group.dimensions:
                group.createDimension(dim, ds.sizes[dim])
    pending = []
    for vname, var in ds.variables.items():
        kind = _kind(var)
        datatype = str if kind == "U" else (np.dtype("int8") if kind == "b" else var.dtype)
        fill = np.nan if kind == "f" else None
        target = group.createVariable(vname, datatype, var.dims, zlib=False, complevel=4, shuffle=True,
                                      fletcher32=False, contiguous=False, chunksizes=None, endian="native",
                                      least_significant_digit=None, fill_value=fill)
        if kind == "b":
            target.setncatts({"dtype": "bool"})
        values = var.values
        pending.append((target, values.astype(object) if kind == "U" else
                        (values.astype("int8") if kind == "b" else values)))
    for target, values in pending:  # the data after all variables are defined, as xarray's writer
        target[...] = values


def write_tree(dt, path: Path, skip_attrs: tuple[str, ...] = ()) -> None:
    """Write the DataTree ``dt`` (root attributes, one level of groups) to ``path`` as NetCDF-4, without the
    attributes named in ``skip_attrs`` on any node."""
    if not writable(dt):
        tree = dt.copy(deep=False)
        for node in tree.subtree:
            node.attrs = _kept(node.attrs, skip_attrs)
        tree.to_netcdf(path, engine="netcdf4")
        return
    import netCDF4

    with netCDF4.Dataset(path, mode="w", clobber=True, diskless=False, persist=False, format=FORMAT) as root:
        _set_attrs(root, _kept(dt.attrs, skip_attrs))
        for name, node in dt.children.items():
            _write_group(root, name, node.to_dataset(), skip_attrs)


def _kept(attrs, skip: tuple[str, ...]) -> dict:
    return {k: v for k, v in attrs.items() if k not in skip}


def _decoded(var):
    """A netCDF variable's values as xarray decodes the ones :func:`write_tree` writes (floats with a NaN fill
    value, integers, booleans as int8 with ``dtype = "bool"``, strings), or None for any other."""
    attrs = {k: var.getncattr(k) for k in var.ncattrs()}
    fill = attrs.pop("_FillValue", None)
    flag = attrs.pop("dtype", None)
    if attrs or (fill is not None and not (var.dtype != str and var.dtype.kind == "f" and np.isnan(fill))):
        return None
    if var.dtype == str:
        return np.asarray(var[...], dtype=object)
    if flag == "bool" and var.dtype == np.int8:
        return var[...].astype(bool)
    if flag is not None or var.dtype.kind not in "fiu":
        return None
    return np.asarray(var[...])


def _read_group(group):
    """The Dataset of an open netCDF group as xarray reads it (values, dims, dimension coordinates — strings as
    numpy strings, as xarray's index gives them — attributes), or None when a variable is not one
    :func:`_decoded` knows."""
    import xarray as xr

    group.set_auto_mask(False)
    variables = {}
    for name, var in group.variables.items():
        values = _decoded(var)
        if values is None:
            return None
        variables[name] = (var.dimensions, values)
    coords = {k: (dims, v.astype(str) if v.dtype == object else v) for k, (dims, v) in variables.items()
              if dims == (k,)}
    data = {k: v for k, v in variables.items() if k not in coords}
    return xr.Dataset(data, coords=coords, attrs={k: group.getncattr(k) for k in group.ncattrs()})


def read_groups(path: Path, groups: tuple[str, ...]) -> dict:
    """{"/<group>": Dataset} of the named groups of a NetCDF-4 file, read into memory with the file opened once:
    as ``xarray.open_dataset(path, group=...)`` reads them (tests/test_netcdf.py), in about a third of its time
    for a fit's three groups. A group with anything :func:`write_tree` does not write is read by xarray."""
    import netCDF4
    import xarray as xr

    tree = {}
    with netCDF4.Dataset(path, mode="r") as root:
        for name in groups:
            ds = _read_group(root.groups[name])
            if ds is not None:
                tree[f"/{name}"] = ds
    for name in groups:
        if f"/{name}" not in tree:
            with xr.open_dataset(path, group=name, engine="netcdf4") as ds:
                tree[f"/{name}"] = ds.load().copy(deep=True)
    return {k: tree[k] for k in (f"/{g}" for g in groups)}
