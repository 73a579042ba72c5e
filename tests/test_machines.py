"""Same results on any machine and in any process (issue 14).

Two fresh processes with other string-hash seeds (PYTHONHASHSEED) run the same small plan (tests/plans.py:
survival fits with tipping points, response and summary-level analyses, checks and the report) and must
write the same bytes in every file of the run folder; run.json may differ only in its timings. A third
process simulates another machine (tests/machines.py: numpy at its baseline SIMD, one BLAS thread, the
models' numba code compiled for a generic CPU): its draws must be the same bits and its table the same
text. Its numbers may differ in the last bits (numpy's exp/log kernels and BLAS sum in other orders after
sampling, e.g. for the pointwise log-likelihood), which the table's 10 significant digits can show only in
the last digit; the assertion allows that one unit and nothing more. The reconstruction's machine test is
in tests/test_reconstruct.py.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import xarray as xr

from hccbayes.inference.engine.table import read_table

from machines import other_machine_for_fits
from plans import MINI_PLAN

TIMINGS = {"started", "finished", "seconds", "timings"}


def _without_timings(obj):
    if isinstance(obj, dict):
        return {k: _without_timings(v) for k, v in obj.items() if k not in TIMINGS}
    if isinstance(obj, list):
        return [_without_timings(v) for v in obj]
    return obj


def _files(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def _posterior(path):
    with xr.open_dataset(path, group="posterior", engine="h5netcdf") as ds:
        return {k: ds[k].values.copy() for k in ds.data_vars}


def test_runs_in_other_processes_and_on_a_simulated_machine_give_the_same_folder(user_study_with_plan, tmp_path):
    plan = user_study_with_plan(MINI_PLAN) / "plan.toml"
    envs = {"a": {"PYTHONHASHSEED": "1"}, "b": {"PYTHONHASHSEED": "2"},
            "other": {"PYTHONHASHSEED": "3", **other_machine_for_fits()}}
    procs = {name: subprocess.Popen([sys.executable, "-m", "hccbayes", "run", str(plan), "--out", str(tmp_path / name)],
                                    env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True) for name, env in envs.items()}
    for name, proc in procs.items():
        out, _ = proc.communicate(timeout=900)
        assert proc.returncode == 0, f"{name}: {out}"
    a, b, other = (tmp_path / n for n in envs)

    files = _files(a)
    assert files == _files(b) == _files(other)
    assert {"comparisons.csv", "run.json", "report/report.html", "checks/loo.csv"} <= set(files)
    assert sum(f.startswith("fits/") for f in files) == 4 and any(f.endswith(".svg") for f in files)
    for f in files:
        if f != "run.json" and not f.startswith("cache/"):
            assert (a / f).read_bytes() == (b / f).read_bytes(), f
    for f in (f for f in files if f.startswith("cache/analyses/")):  # kept with timings and file times, rows equal
        rows = [json.dumps(json.loads((d / f).read_text())["value"]["rows"]) for d in (a, b)]  # NaN-safe
        assert rows[0] == rows[1], f
    ja, jb = (json.loads((d / "run.json").read_text()) for d in (a, b))
    assert ja != jb and _without_timings(ja) == _without_timings(jb)  # timings differ, nothing else

    for f in (f for f in files if f.startswith("fits/")):  # another machine: the same draws, bit for bit
        pa, po = _posterior(a / f), _posterior(other / f)
        assert pa.keys() == po.keys()
        for var in pa:
            np.testing.assert_array_equal(pa[var], po[var], err_msg=f"{f}: {var}")
    ta, to = read_table(a / "comparisons.csv"), read_table(other / "comparisons.csv")
    assert list(ta.columns) == list(to.columns) and ta.shape == to.shape
    for col in ta.columns:
        if pd.api.types.is_numeric_dtype(ta[col]) and not pd.api.types.is_bool_dtype(ta[col]):
            np.testing.assert_allclose(to[col].to_numpy(float), ta[col].to_numpy(float), rtol=1e-9, atol=0,
                                       equal_nan=True, err_msg=col)  # one unit of the 10th digit
        else:
            pd.testing.assert_series_equal(ta[col], to[col], check_exact=True, obj=col)
