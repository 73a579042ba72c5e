"""Bad-input corpus: registry (published.toml), study definition (study.toml) and CLI arguments.

Every case must give one clear message naming the file and what to fix, exit code 2, and no traceback.
(Cohort CSV cases: tests/test_cohort_validation.py; plan TOML cases: tests/test_plan.py; run-level
cases — output directory, degenerate cohorts — at the end of this file.)
"""
from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from hccbayes.cli import main
from hccbayes.data.study import STUDIES_DIR


@pytest.fixture()
def study_copy(tmp_path):
    """A user's own copy of the yin2025 study folder, to break one file at a time."""
    folder = tmp_path / "mystudy"
    shutil.copytree(STUDIES_DIR / "yin2025", folder)
    return folder


def _run(capsys, *argv):
    code = main(list(argv))
    err = capsys.readouterr().err
    return code, err


def _append(path, text):
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(text)


REGISTRY_CASES = {
    "malformed_toml": ("[tables.t1\n", "not valid TOML"),
    "unknown_kind": ('\n[[text]]\nid = "x1"\nkind = "odds"\nvalue = "1.2"\n', "unknown kind 'odds'"),
    "unparseable_value": ('\n[[text]]\nid = "x2"\nkind = "hr_ci"\nvalue = "about half"\n',
                          "expected 'estimate (lower-upper)'"),
    "duplicate_id": ('\n[[text]]\nid = "x3"\nkind = "p"\nvalue = "0.1"\n[[text]]\nid = "x3"\nkind = "p"\n'
                     'value = "0.2"\n', "duplicate entry id 'text.x3'"),
    "unknown_population": ('\n[[text]]\nid = "x4"\nkind = "count"\nvalue = "3 (10.0)"\npopulation = "arm:ICI"\n',
                           "unknown population 'arm:ICI'"),
    "undeclared_column": ('\n[[tables.t3.rows]]\nid = "ne"\nkind = "count"\ncells = { nope = "1 (2.0)" }\n',
                          "cell for undeclared column 'nope'"),
    "text_without_value": ('\n[[text]]\nid = "x5"\nkind = "p"\n', "needs id, kind and value"),
}


@pytest.mark.parametrize("case", sorted(REGISTRY_CASES))
def test_bad_registry(study_copy, capsys, case):
    text, message = REGISTRY_CASES[case]
    _append(study_copy / "published.toml", text)
    code, err = _run(capsys, "audit", "--study", str(study_copy))
    assert code == 2
    assert message in err and "published.toml" in err
    assert "Traceback" not in err


def test_registry_not_utf8(study_copy, capsys):
    (study_copy / "published.toml").write_bytes("# caf\xe9\n".encode("latin-1"))
    code, err = _run(capsys, "audit", "--study", str(study_copy))
    assert code == 2 and "not valid TOML" in err


def test_registry_missing(study_copy, capsys):
    (study_copy / "published.toml").unlink()
    code, err = _run(capsys, "audit", "--study", str(study_copy))
    assert code == 2 and "file not found" in err


STUDY_CASES = {
    "bad_column_type": ('[columns.age]\ntype = "continuous"', '[columns.age]\ntype = "number"',
                        "column 'age' has type 'number'"),
    "unknown_regimen": ('regimens = ["REG", "SOR"]', 'regimens = ["REG", "SOR", "LEN"]',
                        "names regimen 'LEN' not in [regimens]"),
    "factor_unknown_column": ('column = "age"\nabove = 60', 'column = "years"\nabove = 60',
                              "refers to unknown column 'years'"),
    "reference_arm_unknown": ('reference_arm = "TKI"', 'reference_arm = "placebo"',
                              "reference_arm 'placebo' is not an arm"),
    "randomised_not_bool": ("randomised = false", 'randomised = "no"', "randomised = 'no' is not true or false"),
    "measured_at_negative": ("measured_at = 1.84", "measured_at = -8", "measured_at = -8 is not a positive time"),
}


@pytest.mark.parametrize("case", sorted(STUDY_CASES))
def test_bad_study_definition(study_copy, capsys, case):
    old, new, message = STUDY_CASES[case]
    path = study_copy / "study.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    code, err = _run(capsys, "validate", "--study", str(study_copy))
    assert code == 2
    assert message in err and "study.toml" in err
    assert "Traceback" not in err


def test_study_malformed_toml(study_copy, capsys):
    _append(study_copy / "study.toml", "\n[arms.TKI\n")
    code, err = _run(capsys, "validate", "--study", str(study_copy))
    assert code == 2 and "not valid TOML" in err


def test_unknown_study_name(capsys):
    code, err = _run(capsys, "audit", "--study", "no_such_study")
    assert code == 2 and "study not found" in err and "yin2025" in err


@pytest.mark.parametrize("argv", [["validate", "--no-such-flag"], ["audit", "--format", "xml"],
                                  ["reconstruct", "--seed", "many"]])
def test_bad_cli_arguments_exit_2_without_traceback(argv):
    proc = subprocess.run([sys.executable, "-m", "hccbayes", *argv], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "usage:" in proc.stderr


# ---- run level: degenerate cohorts and output directories (no fit is started for any of them) ------------
RUN_PLAN = """
[plan]
name = "bad"
study = "."
seed = 1

[defaults]
prior_sets = ["weakly_informative"]
models = ["pem"]
sampler = { draws = 200, tune = 200, chains = 1 }

[[analyses]]
id = "arm_pfs"
kind = "survival"
endpoint = "pfs"
terms = ["tki_ici"]
strata = "arm"

[[analyses]]
id = "anri_pfs"
kind = "survival"
endpoint = "pfs"
terms = ["anri_high"]
"""


def _cohort_edit(study_copy, edit):
    import pandas as pd

    path = study_copy / "cohort.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df = edit(df)
    df.to_csv(path, index=False)
    (study_copy / "plan.toml").write_text(RUN_PLAN, encoding="utf-8")


def _no_events(df):
    return df.assign(pfs_event="0", os_event="0")


def _single_arm(df):
    return df[df["arm"] == "TKI+ICI"]


def _one_level(df):
    return df.assign(anri="20.0")  # every patient above the 5.4 cut-off: anri_high has one level


def _nan_biomarker(df):
    df.loc[df.index[:5], "anri"] = ""  # allowed in the cohort, but the analysis of ANRI cannot use them
    return df


RUN_CASES = {
    "all_censored": (_no_events, "no pfs events among the 70 patients"),
    "single_arm": (_single_arm, "tki_ici"),
    "covariate_one_level": (_one_level, "anri_high"),
    "nan_biomarker": (_nan_biomarker, "missing values"),
}


@pytest.mark.parametrize("case", sorted(RUN_CASES))
def test_degenerate_cohort_run_exit_2_and_writes_nothing(study_copy, tmp_path, capsys, case):
    edit, message = RUN_CASES[case]
    _cohort_edit(study_copy, edit)
    out = tmp_path / "out"
    code, err = _run(capsys, "run", str(study_copy / "plan.toml"), "--out", str(out), "--no-report")
    assert code == 2, err
    assert message in err and "Traceback" not in err
    assert not out.exists() or not any(out.rglob("*.nc")), "no fit may be written for a plan that cannot run"
    assert not out.exists() or not (out / "comparisons.csv").exists()


def test_output_directory_not_writable(study_copy, tmp_path, capsys):
    (study_copy / "plan.toml").write_text(RUN_PLAN, encoding="utf-8")
    target = tmp_path / "a_file"
    target.write_text("not a directory")
    code, err = _run(capsys, "run", str(study_copy / "plan.toml"), "--out", str(target / "sub"), "--no-report")
    assert code == 2 and "Traceback" not in err


def test_huge_values_rejected_with_row_and_column(study_copy, capsys):
    _cohort_edit(study_copy, lambda df: df.assign(age=df["age"].where(df.index != 3, "1e308")))
    code, err = _run(capsys, "validate", str(study_copy / "cohort.csv"), "--study", str(study_copy))
    assert code == 2 and "row 4" in err and "'age'" in err
