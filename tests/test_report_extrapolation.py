"""An RMST (or any time quantity) whose horizon lies beyond a compared group's last follow-up is the model's tail,
not data: the engine allows it only under a plan's ``extrapolate = true`` and writes EXTRAPOLATED in the row's
note (inference/engine/groups.py); the report's quantity label must say so too (issue 15 part 1, issue 16)."""
from __future__ import annotations

from hccbayes.inference.engine.table import bayes_columns, make_table, row
from hccbayes.reports.document import comparison_frame


def _rows(note: str):
    common = dict(analysis="arm_pfs", title="PFS by arm", population="all", endpoint="pfs", contrast="B vs A",
                  **bayes_columns("weibull", "weakly_informative"), unit="months", horizon=24.0, cohort_based=True,
                  diagnostics_ok=True, diagnostics="ok", note=note)
    return make_table([row(**common, quantity="rmst_diff", estimate=3.4, lower=0.3, upper=6.3, interval="95% ETI"),
                       row(**common, quantity="rmst_diff", direction=">", threshold=0.0, probability=0.98)])


def test_extrapolated_rows_say_so_in_the_report():
    flagged = comparison_frame(_rows("RMST to 24 months EXTRAPOLATED beyond the last follow-up of group A (13.87 "
                                     "months)"))
    assert list(flagged["Quantity"]) == ["RMST difference to 24 months (months), EXTRAPOLATED beyond follow-up"]
    plain = comparison_frame(_rows(""))
    assert list(plain["Quantity"]) == ["RMST difference to 24 months (months)"]
    median = _rows("RMST to 24 months EXTRAPOLATED beyond the last follow-up of group A (13.87 months)")
    median["quantity"] = "median_diff"  # the flag is about the RMST horizon; a median is read off the curve
    assert list(comparison_frame(median)["Quantity"]) == ["median difference (months)"]
