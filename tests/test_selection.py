"""Variable selection said as it is (issue 16 part 8): the plan names the published term lists or applies the
univariable p < 0.1 rule on the data; both lists are recorded and shown where they differ.

R source: tests/reference/yin2025_reference_output*.csv (survival_reference.R, see test_reference_yin2025.py):
the univariable Cox p of every factor (``cox_uni``) and the terms R's own p < 0.1 screen keeps (``cox_selected``).
Tolerance of a p-value: 1e-6 relative (both programs iterate Cox to convergence; r_reference.COX_RTOL).
"""
import tomllib
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from hccbayes.data.study import STUDIES_DIR
from hccbayes.errors import PlanError
from hccbayes.inference.engine.plan import load_plan, parse_plan
from hccbayes.inference.engine.selection import resolve_selection
from hccbayes.inference.engine.survival_run import preflight
from hccbayes.reports.selection_section import selection_blocks, selection_frame

from r_reference import COX_RTOL, r_value, read_reference

R = {"all": read_reference("yin2025_reference_output.csv"),
     "arm:TKI+ICI": read_reference("yin2025_reference_output_tki_ici.csv")}
MULTI = ("t4_pfs_multi", "t4_os_multi", "t5_pfs_multi", "t5_os_multi")


@pytest.fixture(scope="module")
def resolved(study, cohort):
    plan = load_plan(STUDIES_DIR / "yin2025" / "plan.toml")
    return plan, *resolve_selection(plan, study, cohort)


@pytest.mark.parametrize("analysis", MULTI)
def test_the_rule_on_the_cohort_is_rs_screen(resolved, analysis):
    plan, new, records = resolved
    a = new.analysis(analysis)
    assert a.terms == plan.analysis(analysis).terms  # selection = "published": the printed list is fitted
    rec = pd.DataFrame([r for r in records if r["analysis"] == analysis])
    r = R[a.population_label]
    r_selected = set(r[(r.section == "cox_selected") & (r.endpoint == a.endpoint)].term) & set(a.candidates)
    assert set(rec.loc[rec["selected"], "term"]) == r_selected
    for row in rec.itertuples():
        np.testing.assert_allclose(row.univariable_p, r_value(r, "cox_uni", a.endpoint, "p", term=row.term),
                                   rtol=COX_RTOL)
        assert row.published == row.used == (row.term in a.terms)
    # the finding: on this cohort the rule picks another list than the paper's in every model
    assert set(rec.loc[rec["selected"], "term"]) != set(a.terms)
    assert a.selection_note.startswith("terms: the published multivariable list; univariable Cox p < 0.1 on this "
                                       "cohort selects ")


def test_report_shows_both_lists_where_they_differ(resolved):
    _, _, records = resolved
    frame = selection_frame(pd.DataFrame(records))
    row = frame.set_index("Analysis").loc["t4_pfs_multi"]
    assert row["Only published"] == "crp_high, plr_high"  # R's screen (cox_selected, pfs) leaves them out
    assert row["Only selected"] == "etiology_hbv, prior_ablation"
    heading, para, table = selection_blocks(SimpleNamespace(selection=pd.DataFrame(records)))
    assert heading.anchor == "selection" and len(table.frame) == len(MULTI)
    assert "picks other terms than the published list in 4 of the 4 models" in para.text


PLAN = """
[plan]
name = "sel"
study = "yin2025"
[[analyses]]
id = "screened"
kind = "survival"
endpoint = "pfs"
primary = "tki_ici"
selection = "univariable_p"
candidates = ["tki_ici", "pvtt", "anri_high", "lmr_high", "crp_high"]
{extra}
"""


def test_univariable_p_fits_the_rules_list_and_keeps_the_primary(study, cohort):
    plan = parse_plan(tomllib.loads(PLAN.format(extra="selection_p = 0.01")))
    new, records = resolve_selection(plan, study, cohort)
    a = new.analysis("screened")
    p = {r["term"]: r["univariable_p"] for r in records}
    # R cox_uni (pfs, whole cohort): tki_ici p 0.026 > 0.01 is kept as the primary; lmr_high p 0.0060 and
    # anri_high p 0.0020 pass 0.01, pvtt 0.97 and crp_high 0.10 do not
    assert p["tki_ici"] > 0.01 and {t for t, v in p.items() if v < 0.01} == {"anri_high", "lmr_high"}
    assert a.terms == ("tki_ici", "anri_high", "lmr_high")
    assert "the primary term tki_ici is kept whatever its p" in a.selection_note
    preflight(new, study, cohort)  # the resolved plan is a runnable one


@pytest.mark.parametrize("extra,message", [
    ('terms = ["tki_ici", "pvtt"]', "picks the terms from the candidates on the data"),
    ("selection_p = 1.5", "is not a p-value threshold"),
    ('candidates = ["tki_ici", "shoe_size"]', "'shoe_size' is neither a factor"),
])
def test_bad_selections_are_plan_errors(extra, message):
    text = PLAN.format(extra=extra)
    if extra.startswith("candidates"):
        text = text.replace('candidates = ["tki_ici", "pvtt", "anri_high", "lmr_high", "crp_high"]\n', "")
    with pytest.raises(PlanError) as err:
        parse_plan(tomllib.loads(text))
    assert message in str(err.value) and "analyses.screened" in str(err.value)
