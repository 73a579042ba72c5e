"""Comparing results computed in different processes (inline, ``--jobs`` workers, Dask workers, a re-run
after ``kill -9``): they must be identical, bit for bit and byte for byte.

History (issue 14): these helpers compared to relative 1e-9 for a while, after one loaded CI run saw draws
differ by 1.9e-13 between the main process and the workers, and another machine saw "R-hat 1.005" against
"R-hat 1.004". The cause was PyTensor's numba fast-math: a model compiled afresh in one process and loaded
from the on-disk compile cache in another ran differently ordered floating-point sums, and NUTS grew the
difference along the chains. Fits are compiled without fast-math now, and the linear predictor no longer
calls BLAS (``models/survival/likelihood.py``), so every process and every simulated CPU draws the same samples
(tests/test_machines.py), and equality is asserted again.
"""
from __future__ import annotations

import numpy as np


def assert_same_draws(a: dict, b: dict) -> None:
    """{task: {variable: array}} from two executors: same tasks, variables, shapes and bits."""
    assert sorted(a) == sorted(b)
    for key in a:
        assert sorted(a[key]) == sorted(b[key]), key
        for var in a[key]:
            np.testing.assert_array_equal(a[key][var], b[key][var], err_msg=f"{key}/{var}")


def assert_same_table(path_a, path_b) -> None:
    """Two comparisons.csv files (or any two text files): the same bytes; else the first differing line."""
    a, b = open(path_a, "rb").read(), open(path_b, "rb").read()
    if a == b:
        return
    la, lb = a.decode().splitlines(), b.decode().splitlines()
    first = next((i for i, (x, y) in enumerate(zip(la, lb)) if x != y), min(len(la), len(lb)))
    raise AssertionError(f"{path_a} and {path_b} differ ({len(la)} vs {len(lb)} lines), first at line "
                         f"{first + 1}:\n  {la[first] if first < len(la) else '<end>'}\n  "
                         f"{lb[first] if first < len(lb) else '<end>'}")
