"""One way from posterior to report (issue 17, part 4): a run makes every row in memory and writes its
table once, reading back nothing it wrote; it stores what its report draws — the survival curves of its
fits, the study's description, the audit of its published figures and the fidelity of its cohort — and the
report is drawn from the run folder alone, the same with the study folder moved away.

One small run (tests/plans.py MINI_PLAN: PEM fits with strata and tipping points, response and summary
analyses, the model checks) on a copy of the yin2025 study, shared by the tests of this module.
"""
from __future__ import annotations

import builtins
import io
import json
import shutil

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import hccbayes
import hccbayes.atomic
from hccbayes.cli import main
from hccbayes.data import load_cohort, load_registry, load_study
from hccbayes.data.published.audit import audit, findings_frame
from hccbayes.data.study import STUDIES_DIR
from hccbayes.inference.engine.curves import SURVIVAL_DRAWS, figure_grid, thin
from hccbayes.inference.engine.rows_survival import spec_for
from hccbayes.inference.engine.study_record import study_description
from hccbayes.inference.fitting.fit import ModelCache
from hccbayes.inference.frequentist.fidelity import fidelity
from hccbayes.inference.frequentist.survival import km_at_times, km_table
from hccbayes.models.survival.design import survival_data
from hccbayes.models.survival.quantities import standardised_curves
from hccbayes.reports.build import build_report

from plans import MINI_PLAN

WATCHED = ("comparisons.csv", "psense.csv")


def _name(path) -> str:
    return str(getattr(path, "name", path)).rsplit("/", 1)[-1]


@pytest.fixture(scope="module")
def mini_run(tmp_path_factory):
    """(study folder, run folder, names of watched files read during the run, names of files written)."""
    folder = tmp_path_factory.mktemp("study") / "mystudy"
    folder.mkdir()
    for name in ("study.toml", "published.toml", "reconstruction.toml", "cohort.csv"):  # a reconstructed cohort
        shutil.copy(STUDIES_DIR / "yin2025" / name, folder / name)
    (folder / "plan.toml").write_text(MINI_PLAN, encoding="utf-8")
    out = tmp_path_factory.mktemp("run") / "run"
    reads: list[str] = []
    writes: list[str] = []
    real_open, real_io_open, real_read_csv = builtins.open, io.open, pd.read_csv
    real_write = hccbayes.atomic.write_bytes

    def opening(opener):
        def wrapped(file, *args, **kwargs):
            if _name(file) in WATCHED:
                reads.append(_name(file))
            return opener(file, *args, **kwargs)
        return wrapped

    def read_csv(path, *args, **kwargs):
        if _name(path) in WATCHED:
            reads.append(_name(path))
        return real_read_csv(path, *args, **kwargs)

    def write_bytes(path, data):
        writes.append(_name(path))
        return real_write(path, data)

    mp = pytest.MonkeyPatch()
    for target, name, value in ((builtins, "open", opening(real_open)), (io, "open", opening(real_io_open)),
                                (pd, "read_csv", read_csv), (hccbayes.atomic, "write_bytes", write_bytes)):
        mp.setattr(target, name, value)
    try:
        hccbayes.run_plan(folder / "plan.toml", out, cache=ModelCache())
    finally:
        mp.undo()
    return folder, out, reads, writes


def test_the_table_is_written_once_and_nothing_is_read_back(mini_run):
    """Model checks and power-scaling are inputs of the table: comparisons.csv is written once, at the end,
    and neither it nor checks/psense.csv is read while the run makes its rows."""
    _, out, reads, writes = mini_run
    assert reads == []
    assert writes.count("comparisons.csv") == 1 and writes.count("psense.csv") == 1
    table = pd.read_csv(out / "comparisons.csv")
    assert {"psense_prior", "psense_likelihood", "tipping_point"} <= set(table["quantity"])


def test_the_run_records_its_study(mini_run):
    """study/: the study's description, the audit findings and the fidelity table, as the data layer and the
    reference estimators give them for the run's study and cohort (the same computations, so equal)."""
    folder, out, _, _ = mini_run
    study, registry = load_study(folder), load_registry(folder)
    assert json.loads((out / "study" / "study.json").read_text(encoding="utf-8")) == study_description(study, registry)
    stored = pd.read_csv(out / "study" / "audit.csv", dtype=str, keep_default_na=False)
    expected = findings_frame(audit(registry)).astype(str)
    pd.testing.assert_frame_equal(stored, expected)
    assert len(stored) > 0  # yin2025's printed figures have findings (tests/test_audit_yin2025.py)
    fid = pd.read_csv(out / "study" / "fidelity.csv")
    assert fid[["target", "kind", "passed"]].equals(fidelity(study, folder / "cohort.csv")[["target", "kind", "passed"]])
    assert not (out / "study" / "km_reconstruction.csv").exists()  # only for a cohort rebuilt from KM curves


def test_stored_curves_are_the_quantities_of_the_fit(mini_run):
    """curves.csv holds, per fit of an analysis with strata, the posterior median and 95% ETI of the
    standardised S(t) (models.survival.quantities) on at most SURVIVAL_DRAWS thinned draws; recomputed here
    from the stored fit they agree to the file's 10 significant digits (relative 1e-9)."""
    folder, out, _, _ = mini_run
    curves = pd.read_csv(out / "curves.csv", dtype={"group": str})
    assert set(zip(curves["analysis"], curves["model"], curves["prior_set"])) == {
        (a, "pem", ps) for a in ("arm_os", "afp_os") for ps in ("weakly_informative", "skeptical")}
    study = load_study(folder)
    plan = hccbayes.load_plan(folder / "plan.toml")
    spec = spec_for(plan.analysis("arm_os"), "pem")
    data = survival_data(load_cohort(folder / "cohort.csv", study), study, spec)
    with xr.open_dataset(out / "fits" / "arm_os__pem__skeptical.nc", group="posterior", engine="h5netcdf") as ds:
        dt = thin(xr.DataTree.from_dict({"posterior": ds.load()}), SURVIVAL_DRAWS)
    assert dt["posterior"].sizes["chain"] * dt["posterior"].sizes["draw"] <= SURVIVAL_DRAWS
    s = standardised_curves(dt, data, spec, "tki_ici", grid=figure_grid(data))
    mine = curves[(curves["analysis"] == "arm_os") & (curves["prior_set"] == "skeptical")]
    for level, arm in ((0, "TKI"), (1, "TKI+ICI")):
        rows = mine[mine["level"] == level]
        assert set(rows["group"]) == {arm}
        q = np.quantile(s.sel(level=level).stack(sample=("chain", "draw")).values, [0.025, 0.5, 0.975], axis=1)
        for i, col in enumerate(("lower", "median", "upper")):
            np.testing.assert_allclose(rows[col].to_numpy(), q[i], rtol=1e-9, atol=1e-12)


def test_stored_km_tables_are_the_reference_estimator(mini_run):
    """km.csv: per analysis and level the Kaplan–Meier curve at every distinct time; S(t) and the numbers
    at risk equal those of the R-validated km_at_times (tests/test_survival_freq.py) to floating point."""
    folder, out, _, _ = mini_run
    km = pd.read_csv(out / "km.csv", dtype={"group": str})
    cohort = load_cohort(folder / "cohort.csv", load_study(folder))
    for level, arm in ((0, "TKI"), (1, "TKI+ICI")):
        mine = km[(km["analysis"] == "arm_os") & (km["level"] == level)]
        sub = cohort[cohort["arm"].astype(str) == arm]
        ref = km_at_times(sub, "os_months", "os_event", mine["time"].to_numpy())
        ref = ref[ref["group"] == "overall"]
        assert mine["n_risk"].tolist() == ref["n_risk"].astype(int).tolist()
        np.testing.assert_allclose(mine["survival"].to_numpy(), ref["surv"].to_numpy(), rtol=1e-9)
        assert (mine["events"] + mine["censored"]).sum() == len(sub)


def test_km_table_counts_events_and_censorings():
    """A hand-worked table: times 1, 2, 2, 3 with events 1, 0, 1, 0 → S = 3/4 after 1, 3/4·2/3 = 1/2 after 2
    (one of the two at 2 is censored), unchanged after the censoring at 3 (closed form, floating point)."""
    t = km_table([2.0, 1.0, 3.0, 2.0], [0, 1, 0, 1])
    assert t["time"].tolist() == [1.0, 2.0, 3.0]
    assert t["n_risk"].tolist() == [4, 3, 1] and t["events"].tolist() == [1, 1, 0] and t["censored"].tolist() == [0, 1, 1]
    np.testing.assert_allclose(t["survival"], [0.75, 0.5, 0.5], rtol=1e-15)
    assert km_table([1.0, 2.0], [0, 0])["survival"].tolist() == [1.0, 1.0]  # no event: S stays 1


def test_the_report_is_drawn_from_the_run_folder_alone(mini_run, tmp_path):
    """The report rebuilt with the study folder moved away is the same, file for file, and leaves the run
    folder as it was."""
    folder, out, _, _ = mini_run
    first = build_report(out, tmp_path / "first")
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    moved = folder.with_name("moved")
    folder.rename(moved)
    try:
        second = build_report(out, tmp_path / "second")
    finally:
        moved.rename(folder)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    files = sorted(p.relative_to(tmp_path / "first") for p in (tmp_path / "first").rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(tmp_path / "second") for p in (tmp_path / "second").rglob("*") if p.is_file())
    assert all((tmp_path / "first" / f).read_bytes() == (tmp_path / "second" / f).read_bytes() for f in files)
    md = first["markdown"].read_text(encoding="utf-8")
    assert "Fidelity of the pseudo-patient cohort" in md and "Audit findings" in md
    assert len(first["figures"]) == len(second["figures"]) and any("km_arm-os" in str(f) for f in first["figures"])


def test_a_run_folder_without_its_study_record_is_refused_with_the_fix(mini_run, tmp_path, capsys):
    """A run folder of an older version (no study/) is an input error (exit 2, no traceback) that names the
    missing file and the fix."""
    _, out, _, _ = mini_run
    old = tmp_path / "old"
    old.mkdir()
    for name in ("comparisons.csv", "run.json"):
        shutil.copy(out / name, old / name)
    assert main(["report", str(old)]) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and err.splitlines()[0] == "hccbayes report: error: 1 problem found:"
    (problem,) = err.splitlines()[1:]
    assert "study/study.json" in problem and "fix: run the plan again" in problem
