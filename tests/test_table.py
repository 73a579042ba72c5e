"""The comparison-table contract: typed columns, CSV round trip, validation, the one row constructor."""
import pandas as pd
import pandas.testing as pdt
import pytest

from hccbayes.inference.engine.table import (
    COLUMNS,
    Rows,
    bayes_columns,
    bayes_source,
    make_table,
    read_table,
    row,
    validate_table,
    write_table,
)


def _rows():
    return [
        {"analysis": "arm_pfs", "source": "published", "quantity": "hr", "estimate": 0.49, "lower": 0.26,
         "upper": 0.95, "interval": "95% CI", "registry_id": "t4.tki_ici.pfs_multi"},
        {"analysis": "arm_pfs", "source": "bayes:pem:vague", "model": "pem", "prior_set": "vague",
         "quantity": "hr", "probability": 0.981, "threshold": 1.0, "direction": "<", "diagnostics_ok": True,
         "cohort_based": True},
    ]


def test_round_trip(tmp_path):
    table = make_table(_rows())
    assert list(table.columns) == list(COLUMNS)
    back = read_table(write_table(table, tmp_path / "comparisons.csv"))
    pdt.assert_frame_equal(table, back)
    assert validate_table(back) == []


def test_validation_finds_contract_breaks():
    bad = make_table(_rows())
    bad.loc[1, "direction"] = ""
    bad.loc[0, "source"] = "guess"
    problems = validate_table(bad)
    assert any("threshold and a direction" in p for p in problems)
    assert any("unknown sources" in p for p in problems)
    with pytest.raises(ValueError, match="unknown comparison-table columns"):
        make_table(pd.DataFrame([{"analysis": "x", "colour": "red"}]))


def test_rows_are_made_with_checked_columns():
    """Every producer makes its rows with row()/Rows: a misspelt column fails where the row is made, None
    means not applicable (left out, filled by make_table), shared columns give way to a row's own."""
    assert row(analysis="a", note=None, estimate=0.5) == {"analysis": "a", "estimate": 0.5}
    with pytest.raises(ValueError, match="unknown comparison-table columns \\['estimat'\\]"):
        row(analysis="a", estimat=0.5)
    rows = Rows({"analysis": "arm_os", "population": "all"})
    rows.add(population="arm:TKI", quantity="rate")
    rows.extend([{"quantity": "hr", "group": None}])
    assert rows.rows == [{"analysis": "arm_os", "population": "arm:TKI", "quantity": "rate"},
                         {"analysis": "arm_os", "population": "all", "quantity": "hr"}]


def test_the_bayes_source_is_made_in_one_place():
    assert bayes_source("pem", "vague") == "bayes:pem:vague"
    assert bayes_columns("beta_binomial", "jeffreys") == {"source": "bayes:beta_binomial:jeffreys",
                                                          "model": "beta_binomial", "prior_set": "jeffreys"}
    assert validate_table(make_table([row(quantity="hr", estimate=1.0, **bayes_columns("pem", "vague"))])) == []
