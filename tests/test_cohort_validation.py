"""Cohort CSV validation and loading (hccbayes.data.cohort, ``hccbayes validate``).

Every invalid file is written to tmp_path from the valid factory cohort (tests/cohort_factory.py) with
one deliberate defect, run through the CLI, and must give exit code 2, the specific message naming the
data row (1-based, header excluded) and column, and no traceback. The derived-factor values are checked
by hand against the study.toml cut-offs ("high" means value > cutoff; Yin 2025 section 1.4).
Property-based checks are in test_cohort_properties.py.
"""
from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hccbayes.cli import main
from hccbayes.data import load_cohort, validate_cohort
from hccbayes.data.study import load_study
from hccbayes.errors import CohortError, StudyError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cohort_factory import make_cohort, write_cohort  # noqa: E402

STUDY = load_study("yin2025")


def _cohort(n: int = 40, seed: int = 1) -> pd.DataFrame:
    """The factory cohort with object columns, so a test can put any text into any cell."""
    return make_cohort(STUDY, n=n, seed=seed).astype(object)


def _run_cli(capsys, path: Path, *extra: str) -> tuple[int, str, str]:
    rc = main(["validate", str(path), *extra])
    out, err = capsys.readouterr()
    return rc, out, err


def _problem_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("  - ")]


# ---- the valid cohort ---------------------------------------------------------------------------


def test_factory_cohort_is_valid_and_deterministic(tmp_path):
    a, b = make_cohort(STUDY, seed=7), make_cohort(STUDY, seed=7)
    pd.testing.assert_frame_equal(a, b)
    df = make_cohort(STUDY)
    assert set(df["regimen"]) == set(STUDY.regimens)  # every regimen appears at n = 40
    assert validate_cohort(write_cohort(df, tmp_path / "c.csv"), STUDY) == []


def test_valid_cohort_cli_summary(tmp_path, capsys):
    path = write_cohort(make_cohort(STUDY), tmp_path / "c.csv")
    rc, out, err = _run_cli(capsys, path)  # --study defaults to yin2025
    assert rc == 0, err
    assert "40 patients (TKI 20, TKI+ICI 20)" in out
    assert len(out.strip().splitlines()) == 1
    df = make_cohort(STUDY)
    assert f"os {int(df['os_event'].sum())} death events" in out


def test_load_cohort_types_and_derived_factors(tmp_path, caplog):
    df = _cohort()
    # hand-made values at and around the study.toml cut-offs: anri 5.4, nlr 5.7, age factor > 60
    df.loc[0, ["anri", "nlr", "age", "afp", "arm", "regimen"]] = ["5.4", "5.7", "60", ">400", "TKI", "REG"]
    df.loc[1, ["anri", "nlr", "age", "afp", "arm", "regimen"]] = ["5.41", "5.8", "60.1", "<=400", "TKI+ICI",
                                                                  "SOR-ICI"]
    df.loc[2, "crp"] = ""  # a missing biomarker is allowed (logged)
    df["site"] = "A"  # an undeclared column is allowed (logged)
    path = write_cohort(df, tmp_path / "c.csv")
    with caplog.at_level(logging.WARNING, logger="hccbayes.data.cohort"):
        out = load_cohort(path, STUDY)
    assert len(out) == 40
    # anri 5.4 is exactly the cut-off: "high" means > 5.4, so not high
    assert out.loc[0, "anri_high"] == 0 and out.loc[1, "anri_high"] == 1
    assert out.loc[0, "nlr_high"] == 0 and out.loc[1, "nlr_high"] == 1
    assert out.loc[0, "age_gt60"] == 0 and out.loc[1, "age_gt60"] == 1
    assert out.loc[0, "afp_gt400"] == 1 and out.loc[1, "afp_gt400"] == 0
    assert out.loc[0, "tki_ici"] == 0 and out.loc[1, "tki_ici"] == 1
    assert np.isnan(out.loc[2, "crp_high"]) and out["crp_high"].dtype == "float64"
    for name in STUDY.factors:
        assert name in out.columns
        ok = out[name].dropna()
        assert set(ok.unique()) <= {0, 1}
    # every factor equals its rule recomputed by hand from the raw columns
    assert (out["tki_ici"] == (out["arm"] == "TKI+ICI").astype(int)).all()
    assert (out["plr_high"] == (out["plr"] > 197.6).astype(int)).all()
    assert (out["bclc_c"] == (out["bclc"] == "C").astype(int)).all()
    assert (out["prior_surgery"] == make_cohort(STUDY)["prior_surgery"]).all()
    # types
    assert out["id"].dtype == "str"
    assert list(out["arm"].cat.categories) == ["TKI", "TKI+ICI"]  # reference arm first
    assert list(out["albi_grade"].cat.categories) == ["1", "2/3"]
    for c in ("os_months", "pfs_months", "age", "anri"):
        assert out[c].dtype == "float64"
    for c in ("os_event", "pfs_event", "cirrhosis", "ae_total_any", "anri_high"):
        assert out[c].dtype == "int64"
    assert out["site"].tolist() == ["A"] * 40
    text = caplog.text
    assert "crp" in text and "site" in text


def test_binary_covariate_with_missing_value_gives_missing_factor(tmp_path):
    df = _cohort()
    df.loc[4, "pvtt"] = "NA"
    df.loc[5, "pvtt"] = "1"
    out = load_cohort(write_cohort(df, tmp_path / "c.csv"), STUDY)
    assert np.isnan(out.loc[4, "pvtt"]) and out.loc[5, "pvtt"] == 1


# ---- invalid files: one defect each, through the CLI ---------------------------------------------


def _set(row: int, column: str, value: str):
    """Put ``value`` in data row ``row`` (1-based) of ``column``."""
    def mutate(df):
        df.loc[row - 1, column] = value
        return df
    return mutate


def _pfs_after_os(df):
    df.loc[3, "pfs_months"] = str(float(df.loc[3, "os_months"]) + 5)
    return df


def _inconsistent_regimen(df):
    df.loc[5, ["arm", "regimen"]] = ["TKI", "REG-ICI"]
    return df


def _duplicate_id(df):
    df.loc[6, "id"] = df.loc[1, "id"]
    return df


def _death_without_pfs_event(df):
    df.loc[8, ["os_event", "pfs_event"]] = ["1", "0"]
    return df


def _ae_g34_without_any(df):
    df.loc[9, ["ae_hypertension_any", "ae_hypertension_g34", "ae_total_any", "ae_total_g34"]] = \
        ["0", "1", "1", "1"]
    return df


def _specific_ae_without_total(df):
    others = [c for c in STUDY.ae_columns if c.endswith("_any") and c != "ae_total_any"]
    df.loc[10, others + ["ae_total_any"]] = "0"
    df.loc[10, [c for c in STUDY.ae_columns if c.endswith("_g34")]] = "0"
    df.loc[10, "ae_rash_any"] = "1"
    return df


def _stored_factor(df):
    df["anri_high"] = "1"
    return df


# (case id, mutation, expected row (None: file-level), expected column, expected message part)
CELL_CASES = [
    ("text_in_numeric", _set(3, "age", "abc"), 3, "age", "'abc' is not a number"),
    ("negative_time", _set(5, "os_months", "-2.5"), 5, "os_months", "time -2.5 is not > 0"),
    ("zero_time", _set(2, "pfs_months", "0"), 2, "pfs_months", "time 0 is not > 0"),
    ("pfs_after_os", _pfs_after_os, 4, "pfs_months", "exceeds os time"),
    ("unknown_arm", _set(6, "arm", "ICI"), 6, "arm", "unknown arm value 'ICI'"),
    ("arm_wrong_case", _set(6, "arm", "tki"), 6, "arm", "write 'TKI'"),
    ("unknown_regimen", _set(7, "regimen", "LEN"), 7, "regimen", "unknown regimen value 'LEN'"),
    ("regimen_not_of_arm", _inconsistent_regimen, 6, "regimen", "belongs to arm 'TKI+ICI'"),
    ("duplicated_id", _duplicate_id, 7, "id", "duplicated patient id"),
    ("empty_id", _set(8, "id", ""), 8, "id", "empty patient id"),
    ("event_not_0_1", _set(9, "os_event", "2"), 9, "os_event", "value 2 is not 0 or 1"),
    ("event_fraction", _set(9, "pfs_event", "0.5"), 9, "pfs_event", "value 0.5 is not 0 or 1"),
    ("death_without_pfs_event", _death_without_pfs_event, 9, "pfs_event", "without a pfs event"),
    ("unknown_response", _set(11, "best_response", "NE"), 11, "best_response",
     "unknown response value 'NE'"),
    ("ae_g34_without_any", _ae_g34_without_any, 10, "ae_hypertension_any",
     "ae_hypertension_g34 = 1 but ae_hypertension_any = 0"),
    ("ae_without_total", _specific_ae_without_total, 11, "ae_total_any",
     "ae_rash_any = 1 but ae_total_any = 0"),
    ("ae_not_0_1", _set(12, "ae_rash_g34", "yes"), 12, "ae_rash_g34", "'yes' is not a number"),
    ("nan_survival_time", _set(12, "os_months", "NaN"), 12, "os_months",
     "missing value ('NaN') in required survival time/event column"),
    ("empty_event", _set(13, "pfs_event", ""), 13, "pfs_event", "missing value"),
    ("infinite_time", _set(14, "pfs_months", "inf"), 14, "pfs_months", "value inf is infinite"),
    ("infinite_biomarker", _set(15, "crp", "-Infinity"), 15, "crp", "is infinite"),
    ("above_max", _set(16, "age", "150"), 16, "age", "above the study maximum 100"),
    # finite but implausible (issue 15): a time of 1e300 used to pass and fail deep inside power-scaling
    ("implausible_time", _set(14, "os_months", "1e300"), 14, "os_months", "over 1000 times the column's 95th"),
    ("implausible_biomarker", _set(15, "crp", "4.6e7"), 15, "crp", "a slip or another unit?"),
    ("below_min", _set(17, "anri", "-1"), 17, "anri", "below the study minimum 0"),
    ("unknown_level", _set(18, "albi_grade", "3"), 18, "albi_grade", "unknown categorical value '3'"),
    ("binary_not_0_1", _set(19, "cirrhosis", "2"), 19, "cirrhosis", "not 0 or 1"),
    ("missing_column", lambda df: df.drop(columns="pfs_event"), None, "pfs_event",
     "required column 'pfs_event' is missing"),
    ("stored_factor", _stored_factor, None, "anri_high", "derived factor"),
]


@pytest.mark.parametrize("case", CELL_CASES, ids=[c[0] for c in CELL_CASES])
def test_invalid_cell_reported_by_cli(tmp_path, capsys, case):
    _, mutate, row, column, message = case
    path = write_cohort(mutate(_cohort()), tmp_path / "bad.csv")
    rc, out, err = _run_cli(capsys, path)
    assert rc == 2
    assert "Traceback" not in err and out == ""
    where = (f"row {row}, " if row is not None else "") + f"column '{column}'"
    lines = _problem_lines(err)
    assert len(lines) == 1, err  # exactly this one problem, nothing collateral
    assert f"{path}, {where}: " in lines[0] and message in lines[0], err
    assert " — fix: " in lines[0]
    # the library agrees: the same single problem, never raised
    (p,) = validate_cohort(path, STUDY)
    assert (p.row, p.column) == (row, column) and p.fix


def _write_bytes(data: bytes):
    def write(path: Path) -> Path:
        path.write_bytes(data)
        return path
    return write


def _csv_text(df: pd.DataFrame, sep: str = ",") -> str:
    return df.to_csv(index=False, sep=sep, lineterminator="\n")


def _header_only(path):
    path.write_text(",".join(_cohort().columns) + "\n", encoding="utf-8")
    return path


def _semicolon(path):
    path.write_text(_csv_text(_cohort(), ";"), encoding="utf-8")
    return path


def _tab(path):
    path.write_text(_csv_text(_cohort(), "\t"), encoding="utf-8")
    return path


def _latin1(path):
    df = _cohort()
    df["note"] = ""
    df.loc[2, "note"] = "Müller"  # data row 3 = line 4
    path.write_bytes(_csv_text(df).encode("latin-1"))
    return path


def _duplicated_header(path):
    df = _cohort()
    text = _csv_text(df).replace(",gender,", ",age,", 1)
    path.write_text(text, encoding="utf-8")
    return path


def _ragged_row(path):
    lines = _csv_text(_cohort()).splitlines()
    lines[4] += ",extra"  # data row 4
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# (case id, writer, expected row, expected column, expected message part)
FILE_CASES = [
    ("empty_file", _write_bytes(b""), None, None, "file is empty"),
    ("header_only", _header_only, None, None, "no patients"),
    ("semicolon", _semicolon, None, None, "wrong delimiter: the header is separated by semicolons"),
    ("tab", _tab, None, None, "wrong delimiter: the header is separated by tabs"),
    ("latin1", _latin1, 3, None, "not UTF-8 text: byte 0xFC on line 4"),
    ("duplicated_header", _duplicated_header, None, "age", "appears more than once"),
    # the yin2025 header has 75 columns: id, arm, regimen, 4 survival, response, 25 covariates, 42 AE
    ("ragged_row", _ragged_row, 4, None, "row has 76 values but the header has 75 columns"),
]


@pytest.mark.parametrize("case", FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_invalid_file_reported_by_cli(tmp_path, capsys, case):
    _, write, row, column, message = case
    path = write(tmp_path / "bad.csv")
    rc, out, err = _run_cli(capsys, path)
    assert rc == 2 and "Traceback" not in err and out == ""
    lines = _problem_lines(err)
    # one clear problem; a duplicated header also misses the column it replaced (gender)
    assert len(lines) == (2 if case[0] == "duplicated_header" else 1), err
    (p,) = [p for p in validate_cohort(path, STUDY) if message in p.message]
    assert (p.row, p.column) == (row, column)
    assert any(message in line for line in lines)


def test_missing_file_and_unknown_study(tmp_path, capsys):
    rc, _, err = _run_cli(capsys, tmp_path / "nope.csv")
    assert rc == 2 and "file not found" in err and "Traceback" not in err
    path = write_cohort(make_cohort(STUDY), tmp_path / "c.csv")
    rc, _, err = _run_cli(capsys, path, "--study", "no_such_study")
    assert rc == 2 and "study not found" in err and "Traceback" not in err
    with pytest.raises(StudyError):
        validate_cohort(path, "no_such_study")


def test_many_problems_reported_at_once(tmp_path, capsys):
    df = _cohort()
    df.loc[0, "age"] = "old"  # row 1
    df.loc[2, "arm"] = "ICI"  # row 3
    df.loc[4, "os_months"] = "-1"  # row 5
    df.loc[6, "id"] = df.loc[7, "id"]  # row 8 duplicates row 7
    df.loc[9, "best_response"] = "NE"  # row 10
    df.loc[11, "pfs_event"] = "7"  # row 12
    df = df.drop(columns="ecog")  # file-level
    path = write_cohort(df, tmp_path / "bad.csv")
    rc, _, err = _run_cli(capsys, path)
    assert rc == 2 and "Traceback" not in err
    assert "7 problems in cohort file" in err
    assert len(_problem_lines(err)) == 7
    problems = validate_cohort(path, STUDY)
    assert {(p.row, p.column) for p in problems} == {
        (None, "ecog"), (1, "age"), (3, "arm"), (5, "os_months"), (8, "id"), (10, "best_response"),
        (12, "pfs_event")}
    with pytest.raises(CohortError) as info:
        load_cohort(path, STUDY)
    assert info.value.problems == problems


def test_cli_in_subprocess_has_no_traceback(tmp_path):
    df = _cohort()
    df.loc[3, "pfs_months"] = "abc"
    path = write_cohort(df, tmp_path / "bad.csv")
    proc = subprocess.run([sys.executable, "-m", "hccbayes", "validate", str(path), "--study", "yin2025"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "row 4, column 'pfs_months': 'abc' is not a number" in proc.stderr
    good = write_cohort(make_cohort(STUDY), tmp_path / "good.csv")
    proc = subprocess.run([sys.executable, "-m", "hccbayes", "validate", str(good)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "valid cohort for study 'yin2025'" in proc.stdout
