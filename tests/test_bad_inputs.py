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
