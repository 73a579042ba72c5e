"""Property-based checks of cohort validation (hccbayes.data.cohort): validity-preserving perturbations of
the factory cohort (tests/cohort_factory.py) always load; a single corrupted cell is always reported at its
own row and column. Moved verbatim from test_cohort_validation.py, which holds the example-based cases.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hccbayes.data import load_cohort, validate_cohort
from hccbayes.data.schema import cohort_schema
from hccbayes.data.study import load_study
from hccbayes.errors import CohortError, Problem

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cohort_factory import make_cohort, write_cohort  # noqa: E402

STUDY = load_study("yin2025")
SCHEMA = cohort_schema(STUDY)

CONTINUOUS = [c.name for c in STUDY.columns if c.type == "continuous"]
PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 60), data=st.data())
def test_valid_perturbations_always_load(seed, n, data):
    df = make_cohort(STUDY, n=n, seed=seed).astype(object)
    # validity-preserving perturbations: column order, row order, an extra column, missing biomarkers,
    # surrounding whitespace
    cols = data.draw(st.permutations(list(df.columns)), label="column order")
    df = df[cols]
    rows = data.draw(st.permutations(range(n)), label="row order")
    df = df.iloc[list(rows)].reset_index(drop=True)
    if data.draw(st.booleans(), label="extra column"):
        df["comment"] = "x"
    for col in data.draw(st.lists(st.sampled_from(CONTINUOUS), max_size=3, unique=True), label="blank"):
        df.loc[data.draw(st.integers(0, n - 1)), col] = data.draw(st.sampled_from(["", "NA", "NaN"]))
    df.loc[0, "arm"] = f" {df.loc[0, 'arm']} "
    with tempfile.TemporaryDirectory() as tmp:
        path = write_cohort(df, Path(tmp) / "c.csv")
        assert validate_cohort(path, STUDY) == []
        out = load_cohort(path, STUDY)
    assert len(out) == n
    assert set(STUDY.factors) <= set(out.columns)


def _corruptions(name: str) -> list[str]:
    """Values that are invalid in the column ``name`` on their own."""
    spec = SCHEMA.get(name)
    if spec.kind == "id":
        return ["", "NA"]
    if spec.categorical:
        return ["??", "unknown"] + ([] if spec.missing_allowed else [""])
    bad = ["abc", "inf", "-inf"] + ([] if spec.missing_allowed else ["", "NaN"])
    if spec.kind == "time":
        bad += ["0", "-1"]
    elif spec.zero_one:
        bad += ["2", "-1", "0.5"]
    elif spec.min is not None:
        bad.append(str(spec.min - 1))
    return bad


@PROPERTY
@given(seed=st.integers(0, 2**31 - 1), data=st.data())
def test_single_cell_corruption_is_located(seed, data):
    n = 12
    df = make_cohort(STUDY, n=n, seed=seed).astype(object)
    column = data.draw(st.sampled_from(SCHEMA.names), label="column")
    row = data.draw(st.integers(1, n), label="row")
    value = data.draw(st.sampled_from(_corruptions(column)), label="value")
    df.loc[row - 1, column] = value
    with tempfile.TemporaryDirectory() as tmp:
        path = write_cohort(df, Path(tmp) / "c.csv")
        problems = validate_cohort(path, STUDY)
        with pytest.raises(CohortError):
            load_cohort(path, STUDY)
    assert problems, (column, row, value)
    assert all(isinstance(p, Problem) and p.fix for p in problems)
    assert [(p.row, p.column) for p in problems] == [(row, column)]
