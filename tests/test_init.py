"""``hccbayes init``: a study folder scaffolded from a cohort CSV (data/scaffold.py).

The input is the bundled colon trial's cohort (data/studies/colon/cohort.csv: 929 patients, three arms,
two endpoints, 0/1, text and numeric covariates, missing values) without its study definition.
"""
from __future__ import annotations

import tomllib

import pandas as pd
import pytest

from hccbayes.cli import main
from hccbayes.data import load_cohort, load_study
from hccbayes.data.study import STUDIES_DIR

COLON = STUDIES_DIR / "colon" / "cohort.csv"
ARGS = ["--endpoint", "os:os_days:os_event", "--endpoint", "rec:rec_days:rec_event", "--arm", "arm"]


def test_init_guesses_types_and_writes_a_runnable_folder(tmp_path, capsys):
    out = tmp_path / "mine"
    assert main(["init", str(COLON), "--out", str(out), *ARGS, "--reference-arm", "Obs"]) == 0
    printed = capsys.readouterr().out
    assert "929 patients" in printed and "REVIEW" in printed and f"hccbayes run {out}/plan.toml" in printed
    study = load_study(out)
    types = {c.name: c.type for c in study.columns}
    # colon's columns (PROVENANCE.md): 0/1 -> binary, text -> categorical, numbers -> continuous
    assert types == {"sex": "categorical", "age": "continuous", "obstruct": "binary", "perfor": "binary",
                     "adhere": "binary", "nodes": "continuous", "differ": "categorical", "extent": "categorical",
                     "surg": "categorical"}
    assert study.reference_arm == "Obs" and [a.name for a in study.arms] == ["Obs", "Lev", "Lev+5FU"]
    assert study.column("differ").levels == ("moderate", "poor", "well")  # by frequency: 663, 150, 93
    df = load_cohort(study.cohort_path, study)
    assert len(df) == 929 and int(df["os_event"].sum()) == 452  # R: sum(colon$status[colon$etype == 2])
    plan = tomllib.loads((out / "plan.toml").read_text())
    assert [a["terms"] for a in plan["analyses"]] == [["arm_lev", "arm_lev_5fu"]] * 2
    assert {f.levels for name, f in study.factors.items() if name.startswith("arm_")} == {("Lev",), ("Lev+5FU",)}
    # the horizon is below every arm's last follow-up (colon: 3329 days at most; the shortest arm ends earlier)
    last = pd.read_csv(COLON).groupby("arm")[["os_days", "rec_days"]].max().min().min()
    assert 0 < plan["defaults"]["horizon"] <= last


def test_init_marks_the_reference_arm_for_review_and_numbers_rows_without_ids(tmp_path):
    src = tmp_path / "noid.csv"
    pd.read_csv(COLON).drop(columns="id").to_csv(src, index=False)
    out = tmp_path / "noid"
    assert main(["init", str(src), "--out", str(out), *ARGS]) == 0
    text = (out / "study.toml").read_text()
    assert 'reference_arm = "Obs"   # REVIEW' in text  # the most frequent arm (315 patients)
    assert load_cohort(out / "cohort.csv", load_study(out))["id"].iloc[0] == "P1"


@pytest.mark.parametrize("args, message", [
    (["--endpoint", "os:os_days"], "NAME:TIME_COLUMN:EVENT_COLUMN"),
    (["--endpoint", "os:survival_days:os_event"], "no column 'survival_days'"),
    (["--endpoint", "os:os_days:os_event", "--reference-arm", "Placebo"], "'Placebo' is not a value"),
])
def test_init_bad_arguments_exit_2_with_the_fix(tmp_path, capsys, args, message):
    assert main(["init", str(COLON), "--out", str(tmp_path / "x"), "--arm", "arm", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "x").exists()  # a refused scaffold writes nothing


def test_init_refuses_a_folder_that_is_not_empty(tmp_path, capsys):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("mine")
    assert main(["init", str(COLON), "--out", str(tmp_path / "full"), *ARGS]) == 2
    assert "exists and is not empty" in capsys.readouterr().err


def test_init_without_an_arm_column_scaffolds_a_covariate_study(tmp_path, capsys):
    """A single-arm or biomarker-only cohort: no --arm. study.toml has no arm column or arms, the starter plan
    says which analyses to add, and the horizon is below the cohort's last follow-up (colon: 3329 days)."""
    out = tmp_path / "noarm"
    assert main(["init", str(COLON), "--out", str(out), "--endpoint", "os:os_days:os_event"]) == 0
    assert "add analyses" in capsys.readouterr().out
    study = load_study(out)
    assert study.arm_column is None and not study.arms
    assert "arm" in {c.name for c in study.columns}  # the arm column is an ordinary covariate now
    plan_text = (out / "plan.toml").read_text()
    assert "no arm column was named" in plan_text and "[[analyses]]" not in plan_text
    assert 0 < tomllib.loads(plan_text)["defaults"]["horizon"] <= pd.read_csv(COLON)["os_days"].max()
