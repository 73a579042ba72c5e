"""Study folders whose cohort comes from digitised curves, and studies without regimens.

The study files are written here (small TOML fragments stated in each test), except the bundled example
``data/studies/colon_km`` (curves drawn from R survival's colon data; its PROVENANCE.md).
"""
import shutil

import numpy as np
import pytest

from hccbayes.cli import main
from hccbayes.data import load_cohort, load_study
from hccbayes.data.reconstruction.kmipd.study_source import basis_note, curve_source, write_study_cohort
from hccbayes.data.schema import cohort_schema
from hccbayes.data.study import STUDIES_DIR
from hccbayes.errors import PlanError, StudyError
from hccbayes.inference.engine.plan import load_plan
from hccbayes.inference.engine.table import note_cohort_rows
from hccbayes.inference.frequentist.kmipd_fidelity import study_fidelity
from hccbayes.models.survival.design import SurvivalData
from hccbayes.models.survival.quantities import GRID_STEPS, default_grid, time_grid

STUDY = """
[study]
name = "mini"
id_column = "id"
arm_column = "arm"
reference_arm = "A"
time_unit = "weeks"
[arms.A]
[arms.B]
[endpoints.os]
time = "t"
event = "e"
[factors.b]
column = "arm"
levels = ["B"]
"""
CURVES = "group,time,survival\nX,0,1\nX,5,0.8\nX,10,0.6\nY,0,1\nY,8,0.9\n"
RISK = "group,time,n_risk\nX,0,10\nX,6,8\nY,0,10\nY,6,10\n"
KM = '\n[km_curves]\nendpoint = "os"\ncurves = "c.csv"\nat_risk = "r.csv"\narms = { X = "A", Y = "B" }\n'


def _folder(tmp_path, text, curves=True):
    folder = tmp_path / "mini"
    folder.mkdir(exist_ok=True)
    (folder / "study.toml").write_text(text, encoding="utf-8")
    if curves:
        (folder / "c.csv").write_text(CURVES, encoding="utf-8")
        (folder / "r.csv").write_text(RISK, encoding="utf-8")
    return folder


def test_study_without_regimens_has_id_arm_time_event_only(tmp_path, capsys):
    """No regimen_column: the study loads, its cohort needs only id, arm and the endpoint's columns, and
    such a file validates (CLI exit 0)."""
    folder = _folder(tmp_path, STUDY, curves=False)
    study = load_study(folder)
    assert study.regimen_column is None
    assert cohort_schema(study).names == ("id", "arm", "t", "e")
    (folder / "cohort.csv").write_text("id,arm,t,e\n1,A,3.5,1\n2,B,4,0\n", encoding="utf-8")
    assert len(load_cohort(folder / "cohort.csv", study)) == 2
    assert main(["validate", "--study", str(folder)]) == 0
    assert "2 patients (A 1, B 1)" in capsys.readouterr().out


def test_regimens_without_regimen_column_and_regimen_effects_are_refused(tmp_path):
    """Regimens declared without a regimen_column is a study error with its fix; a plan asking for
    regimen effects on a study without regimens is a plan error naming the key."""
    with pytest.raises(StudyError, match="regimens are declared but \\[study\\] has no regimen_column"):
        load_study(_folder(tmp_path, STUDY + '[regimens]\nR = "r"\n', curves=False))
    folder = _folder(tmp_path, STUDY, curves=False)
    (folder / "cohort.csv").write_text("id,arm,t,e\n1,A,3.5,1\n2,B,4,0\n", encoding="utf-8")
    plan = folder / "plan.toml"
    plan.write_text('[plan]\nstudy = "."\n[[analyses]]\nid = "x"\nkind = "survival"\nendpoint = "os"\n'
                    'terms = ["b"]\nregimen_effects = true\n', encoding="utf-8")
    with pytest.raises(PlanError, match="analyses.x.regimen_effects.*declares no regimen_column"):
        load_plan(plan)


def test_declaration_is_checked(tmp_path):
    """[km_curves] problems are study errors with fixes: a second endpoint (patients of separate curves
    cannot be linked), a covariate column, arms not matching the study's, a missing file."""
    bad = (STUDY + '[endpoints.pfs]\ntime = "tp"\nevent = "ep"\n[columns.age]\ntype = "continuous"\n'
           + KM.replace('Y = "B"', 'Y = "C"').replace('"r.csv"', '"missing.csv"'))
    with pytest.raises(StudyError) as exc:
        curve_source(load_study(_folder(tmp_path, bad)))
    text = str(exc.value)
    for part in ("several endpoints", "no [columns.*] values", "the study's arms are ['A', 'B']",
                 "at_risk file 'missing.csv' not found"):
        assert part in text


def test_cohort_written_from_curves_and_marked(tmp_path):
    """The cohort file is written from the curves (group X -> arm A, Y -> B; 10 + 10 patients; X's two
    drops of two patients each at weeks 5 and 10, Y's one at week 8: hand count), validates, and the
    basis note marks cohort-based rows only."""
    study = load_study(_folder(tmp_path, STUDY + KM))
    path, rec, cohort = write_study_cohort(study)
    df = load_cohort(path, study)
    assert df.groupby("arm", observed=True).size().to_dict() == {"A": 10, "B": 10}
    assert df.loc[df["e"] == 1].groupby("arm", observed=True)["t"].apply(list).to_dict() == \
        {"A": [5.0, 5.0, 10.0, 10.0], "B": [8.0]}
    note = basis_note(study)
    assert "reconstructed from digitised Kaplan–Meier curves" in note and "c.csv, r.csv" in note
    rows = note_cohort_rows([{"cohort_based": True, "note": "n=20"}, {"cohort_based": False, "note": "p"}], note)
    assert rows[0]["note"] == f"n=20; {note}" and rows[1]["note"] == "p"
    assert basis_note(load_study("yin2025")) is None


def test_bundled_example_is_faithful(tmp_path):
    """The bundled colon_km cohort passes its own fidelity check against its curves and table (every target,
    inference/kmipd_check) and is what its declaration rebuilds (same bytes, seed 1)."""
    table = study_fidelity(load_study("colon_km"))
    assert table["passed"].all(), table[~table["passed"]].to_string()
    folder = tmp_path / "colon_km"
    shutil.copytree(STUDIES_DIR / "colon_km", folder)
    write_study_cohort(load_study(folder))
    assert (folder / "cohort.csv").read_bytes() == (STUDIES_DIR / "colon_km" / "cohort.csv").read_bytes()


def test_time_grid_follows_the_follow_up():
    """Posterior curves are evaluated from 0 to the last observed time in GRID_STEPS equal steps, with the RMST
    horizon and landmark times as grid points (quantities.time_grid), whatever the unit: a study in days gets
    its medians and RMST (not cut at 60), and times scaled by c give the grid scaled by c."""
    def data(max_time):
        t = np.array([1.0, max_time])
        return SurvivalData(time=t, event=np.ones(2), X=np.zeros((2, 0)), terms=(), ids=np.array(["a", "b"]))
    grid = default_grid(data(3329.0))
    assert grid[0] == 0 and grid[-1] == 3329.0 and len(grid) == GRID_STEPS + 1
    np.testing.assert_array_equal(default_grid(data(4 * 3329.0)), 4 * grid)  # exact: 4 is a power of two
    with_horizon = time_grid(data(3329.0), (1825.0,))
    assert 1825.0 in with_horizon and len(with_horizon) == GRID_STEPS + 2
    assert time_grid(data(20.0), (24.0,), end=24.0)[-1] == 24.0  # an extrapolated horizon extends the grid


def test_reconstruct_command_on_a_curve_study(capsys):
    """`hccbayes fidelity` on a curve study prints the curves' fidelity table; `hccbayes reconstruct` (from
    published summaries) refuses it in one line pointing to ipd-from-km, exit 2, no traceback."""
    assert main(["fidelity", "--study", "colon_km"]) == 0
    out = capsys.readouterr().out
    assert "km.Observation" in out and "hard targets 2/2, soft targets 23/23" in out
    assert main(["reconstruct", "--study", "colon_km", "--out", "unused.csv"]) == 2
    err = capsys.readouterr().err
    assert "hccbayes ipd-from-km --study colon_km" in err and "Traceback" not in err
