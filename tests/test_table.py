"""The comparison-table contract: typed columns, CSV round trip, validation."""
import pandas as pd
import pandas.testing as pdt
import pytest

from hccbayes.inference.engine.table import COLUMNS, make_table, read_table, validate_table, write_table


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
