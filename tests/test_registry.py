"""Tests of the published-figure registry of Yin et al. 2025 (data/studies/yin2025/published.toml).

Reference values are the paper's printed figures (../shared/paper/yin2025-second-line-after-lenvatinib.txt).
They are compared exactly (tolerance 0): the registry stores what is printed, slips included, and a
parsed float of a printed decimal string is the same float as the literal written here.
"""
from __future__ import annotations

import pytest

from hccbayes.data import load_registry, load_study
from hccbayes.data.published.registry import KINDS, parse_registry, parse_value
from hccbayes.errors import RegistryError

# Entries per table, counted by hand from the paper (printed non-empty cells; "-" placeholders omitted):
#   t1: Age 4; 12 categorical blocks: 11 two-level blocks x (1 p + 2 levels x 3 columns) = 77, Etiology
#       1 p + 3 levels x 3 = 10; prior Surgery/TACE/Ablation 3 x 4 = 12; 8 indices x 4 = 32      -> 135
#   t2: 7 rows x (mOS, mPFS)                                                                       -> 14
#   t3: 6 rows x (TKI, TKI+ICI, p)                                                                 -> 18
#   t4: 25 rows x 4 univariate cells = 100; PFS multivariate 9 rows x 2 = 18 (Second-line, CRP,
#       ANRI, LMR, NLR, PLR, PNI, SN, SIRI); OS multivariate 6 rows x 2 = 12 (AFP, Second-line,
#       LMR, NLR, PNI, SN)                                                                          -> 130
#   t5: 25 rows x 4 univariate cells = 100; PFS multivariate 5 x 2 = 10 (TACE, Ablation, ANRI, LMR,
#       SIRI); OS multivariate 5 x 2 = 10 (Ablation, Child-Pugh, AFP>400, LMR, NLR)               -> 120
#   t6: 21 rows x 4 counts = 84; p (any, grade 3/4) for Total, Immune-related, Dose reduction and
#       Discontinuation = 8                                                                         -> 92
#   text: 1.4 cut-offs 8; 2.1 flow 9 + baseline 13; 2.2 flow 3 + regimen sizes 5; 2.3 events 2 +
#       KM medians 6 + AFP change 2 + AFP-strata KM medians 4; 2.4 responses 12; 2.5 Cox 5 HR + 5 p;
#       2.6 safety 11; 2.7 subsequent therapy 11                                                   -> 96
EXPECTED_COUNTS = {"t1": 135, "t2": 14, "t3": 18, "t4": 130, "t5": 120, "t6": 92, "text": 96}

# Outcomes reported only in the text: no Table 6 row and no adverse event in study.toml.
TEXT_ONLY_OUTCOMES = {"immune_hepatitis"}  # Results 2.6: "two cases of immune hepatitis"
# Table 5's bare "AFP" row is read as the 8-week AFP change (an interpretation, see published.toml).
INTERPRETED_FACTORS = {"afp_elevated"}


@pytest.fixture(scope="module")
def reg():
    return load_registry("yin2025")


@pytest.fixture(scope="module")
def study():
    return load_study("yin2025")


# ---- counts ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("table,expected", sorted(EXPECTED_COUNTS.items()))
def test_entries_per_table(reg, table, expected):
    assert len(reg.find(table=table)) == expected


def test_no_entries_outside_known_tables(reg):
    assert {e.table for e in reg} == set(EXPECTED_COUNTS)
    assert len(reg) == sum(EXPECTED_COUNTS.values())  # 605


# ---- spot values (exact; source cited per line) ------------------------------------------------------
SPOT = [
    # (entry id, field, expected)
    ("t1.age.overall", "estimate", 56.0),            # Table 1, Age, Overall 56.00 [51.00, 63.00]
    ("t1.age.tki", "lower", 46.0),                   # Table 1, Age, TKI 54.00 [46.00, 61.00]
    ("t1.age.p", "p", 0.305),                        # Table 1, Age, p
    ("t1.gender.p", "p", 1.0),                       # Table 1, Gender p "1"
    ("t1.cirrhosis.no.ici", "n", 5),                 # Table 1, Cirrhosis No, TKI+ICI 5 (10.2)
    ("t1.tumour_number.gt3.overall", "n", 40),       # Table 1, Number >3, Overall 40 (57.1)
    ("t1.etiology.other.overall", "percent", 2.8),   # Table 1, Etiology Other 2 (2.8) [slip kept]
    ("t1.etiology.other.ici", "percent", 4.0),       # Table 1, Etiology Other TKI+ICI 2 (4.0) [slip kept]
    ("t1.ecog.0.overall", "percent", 40.0),          # Table 1, ECOG 0, Overall 28 (40)
    ("t1.bclc.b.tki", "n", 6),                       # Table 1, BCLC B, TKI 6 (28.6)
    ("t1.prior_tace.tki", "percent", 100.0),         # Table 1, TACE, TKI 21 (100.0)
    ("t1.prior_ablation.p", "p", 0.118),             # Table 1, Ablation p
    ("t1.pni.ici", "upper", 406.01),                 # Table 1, PNI, TKI+ICI 367.00 [317.01, 406.01]
    ("t1.crp.tki", "upper", 36.26),                  # Table 1, CRP, TKI 13.60 [3.80, 36.26]
    ("t2.regimen.sor.os", "upper", 24.43),           # Table 2, SOR mOS 5.93 (2.47-24.43)
    ("t2.regimen.reg_ici.os", "estimate", 14.90),    # Table 2, REG-ICI mOS 14.90
    ("t2.arm.tki_ici.pfs", "lower", 4.09),           # Table 2, TKI-ICI mPFS 5.27 (4.09-6.44)
    ("t3.sd.ici", "n", 34),                          # Table 3, Stable disease TKI+ICI 34 (69.4)
    ("t3.orr.tki", "percent", 19.1),                 # Table 3, ORR TKI 4 (19.1)
    ("t3.cr.ici", "percent", 2.0),                   # Table 3, CR TKI+ICI 1 (2)
    ("t3.dcr.p", "p", 0.026),                        # Table 3, DCR p
    ("t4.afp_gt400.os_multi", "estimate", 2.04),     # Table 4, AFP OS multivariate 2.04 (1.10-3.79)
    ("t4.afp_gt400.os_multi_p", "p", 0.023),         # Table 4, AFP OS multivariate p
    ("t4.sn_high.pfs_multi", "upper", 0.62),         # Table 4, SN PFS multivariate 0.47 (0.08-0.62) [slip kept]
    ("t4.sn_high.pfs_multi_p", "p", 0.402),          # Table 4, SN PFS multivariate p
    ("t4.crp_high.pfs_uni_p", "p", 0.06),            # Table 4, CRP PFS univariate p "0.06"
    ("t4.pvtt.pfs_uni_p", "p", 1.0),                 # Table 4, PVTT PFS univariate p "1.000"
    ("t4.prior_tace.os_uni", "lower", 0.2),          # Table 4, TACE OS univariate 0.83 (0.2-3.48)
    ("t4.tki_ici.os_multi", "estimate", 0.64),       # Table 4, Second-line OS multivariate 0.64
    ("t5.afp_elevated.os_uni", "lower", 0.68),       # Table 5, AFP OS univariate "1.40 (0. 68-2.85)"
    ("t5.afp_elevated.pfs_uni", "estimate", 1.72),   # Table 5, AFP PFS univariate 1.72 (0.87-3.40)
    ("t5.cirrhosis.os_uni", "upper", 10.08),         # Table 5, Cirrhosis OS univariate 2.34 (0.54–10.08)
    ("t5.cirrhosis.os_uni_p", "p", 0.897),           # Table 5, Cirrhosis OS univariate p [slip kept]
    ("t5.prior_ablation.os_multi_p", "p", 0.5),      # Table 5, Ablation OS multivariate p "0.50"
    ("t5.nlr_high.os_multi", "upper", 12.56),        # Table 5, NLR OS multivariate 3.23 (0.83-12.56)
    ("t6.nausea_vomiting.tki_any", "percent", 29.7), # Table 6, Nausea/vomiting TKI 4 (29.7) [slip kept]
    ("t6.nausea_vomiting.tki_any", "n", 4),          # Table 6, Nausea/vomiting TKI 4 (29.7)
    ("t6.hypertension.ici_g34", "n", 6),             # Table 6, Hypertension grade 3/4 TKI-ICI 6 (12.2)
    ("t6.total.p_g34", "p", 0.745),                  # Table 6, Total AEs grade 3/4 p
    ("t6.thin.ici_any", "n", 1),                     # Table 6, Thin TKI-ICI 1 (2.0)
    ("text.baseline.age", "upper", 53.0),            # 2.1 "median age was 56 years (IQR, 51–53)" [slip kept]
    ("text.cox.all.pfs.anri_high.hr", "upper", 0.26),  # 2.5 "HR 0.23; 95% CI 0.08–0.26" [slip kept]
    ("text.cox.all.os.afp_gt400.p", "p", 0.03),      # 2.5 "AFP>400 ng/mL (HR 2.04; ...; p=0.03)"
    ("text.km.os.all", "estimate", 10.93),           # 2.3 "the median OS was 10.93 months"
    ("text.km.os.afp_le400", "upper", 14.0),         # 2.3 "(95% CI, 10.34–14.0 months)"
    ("text.afp_change.elevated.tki_ici", "n", 25),   # 2.3 "51.0% (n=25) of patients in the TKI–ICI group"
    ("text.response.afp_decreased.dcr", "percent", 78.8),  # 2.4 "a DCR of 78.8%"
    ("text.events.os.all", "percent", 72.9),         # 2.3 "72.9% (n=51) of patients had died"
    ("text.subsequent.tki_ici", "percent", 75.0),    # 2.7 "15 (75%) patients in the TKI-ICI group"
    ("text.cutoff.sn", "estimate", 1314.3),          # 1.4 "SN: 1314.3"
    ("text.flow.screened", "n", 85),                 # 2.1 "a total of 85 HCC patients"
    ("text.regimen_size.oth_ici", "n", 16),          # 2.2 "Oth plus ICI (n=16)"
]


@pytest.mark.parametrize("entry_id,field,expected", SPOT)
def test_spot_values(reg, entry_id, field, expected):
    assert getattr(reg.get(entry_id), field) == expected


def test_printed_decimals_are_kept(reg):
    # Table 4 CRP PFS univariate p printed "0.06" (2 decimals); PVTT "1.000" (3); Table 1 ECOG "28 (40)"
    assert reg.get("t4.crp_high.pfs_uni_p").decimals["p"] == 2
    assert reg.get("t4.pvtt.pfs_uni_p").decimals["p"] == 3
    assert reg.get("t1.ecog.0.overall").decimals["percent"] == 0
    assert reg.get("t4.pvtt.pfs_uni").decimals["upper"] == 1  # "1.00 (0.56-1.8)"


def test_raw_text_is_verbatim(reg):
    assert reg.get("t5.afp_elevated.os_uni").raw == "1.40 (0. 68-2.85)"  # Table 5, AFP, OS univariate
    assert reg.get("t6.nausea_vomiting.tki_any").raw == "4 (29.7)"       # Table 6, Nausea/vomiting
    assert reg.get("t4.sn_high.pfs_multi").raw == "0.47 (0.08-0.62)"     # Table 4, SN, PFS multivariate
    assert reg.get("text.cox.all.pfs.anri_high.hr").raw == "0.23 (0.08–0.26)"  # Results 2.5


def test_placeholder_dash_is_omitted(reg):
    # Table 5, Age row: PFS multivariate HR printed "-" -> no entry
    with pytest.raises(KeyError):
        reg.get("t5.age_gt60.pfs_multi")


def test_table5_has_no_second_line_row(reg):
    assert reg.find(table="t5", factor="tki_ici") == []
    assert len(reg.find(table="t4", factor="tki_ici")) == 8  # Table 4 Second-line row: all 8 cells


def test_table_cells_carry_column_semantics(reg):
    e = reg.get("t4.afp_gt400.os_multi")
    assert (e.kind, e["measure"], e["population"], e["endpoint"], e["model"], e["factor"]) == (
        "hr_ci", "cox_hr", "all", "os", "multivariable", "afp_gt400")
    e = reg.get("t5.anri_high.pfs_multi_p")
    assert (e.kind, e["population"], e["endpoint"], e["model"]) == ("p", "arm:TKI+ICI", "pfs", "multivariable")
    e = reg.get("t2.regimen.sor_ici.os")
    assert (e.kind, e["measure"], e["population"], e["endpoint"]) == ("median_iqr", "km_median",
                                                                       "regimen:SOR-ICI", "os")
    e = reg.get("t1.gender.p")
    assert (e.kind, e["measure"], e["variable"], e["population"]) == ("p", "baseline_test", "gender", "all")
    e = reg.get("t6.dose_reduction.tki_g34")
    assert (e.kind, e["outcome"], e["grade"], e["population"]) == ("count", "dose_reduction", "g34", "arm:TKI")


# ---- text figures pair with the table cells reporting the same quantity ------------------------------
PAIRS = [
    ("text.km.pfs.tki_ici", "t2.arm.tki_ici.pfs"),          # 2.3 vs Table 2 TKI-ICI mPFS
    ("text.km.os.tki", "t2.arm.tki.os"),                    # 2.3 vs Table 2 TKI mOS
    ("text.baseline.gender.male", "t1.gender.male.overall"),  # 2.1 vs Table 1 Male
    ("text.baseline.pvtt.yes", "t1.pvtt.yes.overall"),      # 2.1 vs Table 1 PVTT Yes
    ("text.baseline.prior_surgery.yes", "t1.prior_surgery.overall"),  # 2.1 "hepatectomy" vs Table 1 Surgery
    ("text.baseline.afp.p", "t1.afp.p"),                    # 2.1 p=0.166 vs Table 1 AFP p
    ("text.response.tki.orr", "t3.orr.tki"),                # 2.4 "Four (19.1%)" vs Table 3 ORR TKI
    ("text.response.tki_ici.cr", "t3.cr.ici"),              # 2.4 "1 (2%)" vs Table 3 CR TKI+ICI
    ("text.cox.all.pfs.anri_high.hr", "t4.anri_high.pfs_multi"),    # 2.5 vs Table 4 ANRI PFS multi
    ("text.cox.all.os.afp_gt400.p", "t4.afp_gt400.os_multi_p"),     # 2.5 vs Table 4 AFP OS multi p
    ("text.cox.tki_ici.os.afp_gt400.hr", "t5.afp_gt400.os_multi"),  # 2.5 vs Table 5 AFP OS multi
    ("text.ae.total.g34.tki_ici", "t6.total.ici_g34"),      # 2.6 "9 patients (18.4%)" vs Table 6
    ("text.ae.myocarditis.any.tki_ici", "t6.myocarditis.ici_any"),  # 2.6 vs Table 6 Myocarditis
    ("text.ae.dose_reduction.any.tki", "t6.dose_reduction.tki_any"),  # 2.6 vs Table 6 Dose reduction
]


@pytest.mark.parametrize("text_id,table_id", PAIRS)
def test_text_and_table_share_key(reg, text_id, table_id):
    assert reg.get(text_id).key == reg.get(table_id).key


@pytest.mark.parametrize("text_id,table_id", [
    ("text.response.tki_ici.orr", "t3.orr.ici"),            # 2.4 "ORR was 16.3%" (percent) vs 8 (16.3)
    ("text.ae.total.any.tki", "t6.total.tki_any"),          # 2.6 "85.7% in the TKI arm" vs 18 (85.7)
    ("text.baseline.afp.gt400.tki", "t1.afp.gt400.tki"),    # 2.1 "52.4%" vs 11 (52.4)
])
def test_percent_text_pairs_with_count_cell_apart_from_kind(reg, text_id, table_id):
    t, c = reg.get(text_id), reg.get(table_id)
    assert (t.kind, c.kind) == ("percent", "count")
    assert t.key[1:] == c.key[1:] and t.percent == c.percent


def test_text_ids_and_sections(reg):
    text = reg.find(table="text")
    assert all(e.id.startswith("text.") and not e.id.startswith("text.text.") for e in text)
    assert {e.source.split(":")[0] for e in text} == {f"Results {s}" for s in
                                                      ("1.4", "2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "2.7")}


# ---- names agree with the study definition -----------------------------------------------------------
def test_table_factors_exist_in_study(reg, study):
    for t in ("t4", "t5"):
        names = {e["factor"] for e in reg.find(table=t)}
        assert len(names) == 25  # 25 printed rows in each of Tables 4 and 5
        assert names <= set(study.factors), names - set(study.factors)
    assert {e["factor"] for e in reg.find(table="text") if e["factor"]} <= set(study.factors)
    assert INTERPRETED_FACTORS <= {e["factor"] for e in reg.find(table="t5")}


def test_table1_variables_and_levels_exist_in_study(reg, study):
    columns = {c.name: c for c in study.columns}
    for e in list(reg.find(table="t1")) + reg.find(table="text", measure="baseline"):
        col = columns[e["variable"]]  # KeyError names an unknown variable
        if e["level"] is None:
            continue
        if col.type == "binary":
            assert e["level"] in (0, 1), e.id
        else:
            assert str(e["level"]) in col.levels, e.id
    assert {e["variable"] for e in reg.find(table="t1")} == {
        "age", "gender", "cirrhosis", "tumour_number", "tumour_size", "pvtt", "metastasis", "albi_grade", "afp",
        "etiology", "ecog", "bclc", "child_pugh", "prior_surgery", "prior_tace", "prior_ablation",
        "crp", "anri", "lmr", "nlr", "plr", "pni", "sn", "siri"}


def test_cutoffs_match_study_definition(reg, study):
    for e in reg.find(table="text", measure="cutoff"):  # Section 1.4 cut-offs vs study.toml columns
        assert study.column(e["variable"]).cutoff == e.estimate


def test_adverse_event_outcomes_are_declared(reg, study):
    declared = {name for name, _ in study.adverse_events}
    t6 = {e["outcome"] for e in reg.find(table="t6")}
    assert len(t6) == 21  # 21 printed rows of Table 6
    assert t6 <= declared, t6 - declared
    text = {e["outcome"] for e in reg.find(table="text", measure="adverse_event")}
    assert text <= declared | TEXT_ONLY_OUTCOMES
    assert TEXT_ONLY_OUTCOMES.isdisjoint(declared)


def test_populations_are_declared_and_sized(reg):
    assert {e["population"] for e in reg if e["population"]} <= set(reg.populations)
    # group sizes printed in 2.1/2.2 equal the declared population sizes
    for e in reg.find(table="text", measure="regimen_size") + reg.find(table="text", measure="flow",
                                                                         level="enrolled"):
        assert reg.population_size(e["population"]) == e.n, e.id


def test_to_frame_one_row_per_entry(reg):
    df = reg.to_frame()
    assert len(df) == len(reg) == sum(EXPECTED_COUNTS.values())
    assert df["id"].is_unique
    assert df.groupby("table").size().to_dict() == EXPECTED_COUNTS


# ---- parser unit tests --------------------------------------------------------------------------------
def test_parse_count():
    assert parse_value("count", "11 (15.7)") == {"n": 11, "percent": 15.7, "decimals": {"percent": 1}}
    assert parse_value("count", "1 (2)") == {"n": 1, "percent": 2.0, "decimals": {"percent": 0}}
    assert parse_value("count", "85") == {"n": 85, "decimals": {}}
    assert parse_value("count", "5 (25%)")["percent"] == 25.0


def test_parse_percent_and_number():
    assert parse_value("percent", "24.2") == {"percent": 24.2, "decimals": {"percent": 1}}
    assert parse_value("percent", "25%")["percent"] == 25.0
    assert parse_value("number", "403") == {"estimate": 403.0, "decimals": {"estimate": 0}}
    assert parse_value("number", "4.0")["decimals"] == {"estimate": 1}


def test_parse_median_iqr_brackets_and_parentheses():
    out = parse_value("median_iqr", "56.00 [51.00, 63.00]")
    assert (out["estimate"], out["lower"], out["upper"]) == (56.0, 51.0, 63.0)
    assert out["decimals"] == {"estimate": 2, "lower": 2, "upper": 2}
    out = parse_value("median_iqr", "56 (51–53)")
    assert (out["estimate"], out["lower"], out["upper"]) == (56.0, 51.0, 53.0)


def test_parse_median_ci_and_hr_ci():
    out = parse_value("median_ci", "12.17 (10.34–14.0)")
    assert (out["estimate"], out["lower"], out["upper"]) == (12.17, 10.34, 14.0)
    assert out["decimals"]["upper"] == 1
    out = parse_value("hr_ci", "0.49 (0.26-0.95)")
    assert (out["estimate"], out["lower"], out["upper"]) == (0.49, 0.26, 0.95)


def test_parse_space_inside_decimal():
    out = parse_value("hr_ci", "1.40 (0. 68-2.85)")  # Table 5, AFP row, OS univariate, as printed
    assert (out["estimate"], out["lower"], out["upper"]) == (1.40, 0.68, 2.85)
    assert out["decimals"]["lower"] == 2


def test_parse_p():
    assert parse_value("p", "0.033") == {"p": 0.033, "p_bound": "=", "decimals": {"p": 3}}
    assert parse_value("p", "<0.001") == {"p": 0.001, "p_bound": "<", "decimals": {"p": 3}}
    assert parse_value("p", "1") == {"p": 1.0, "p_bound": "=", "decimals": {"p": 0}}
    assert parse_value("p", "1.000")["decimals"] == {"p": 3}


@pytest.mark.parametrize("kind,raw", [
    ("count", "11 [15.7]x"), ("count", "n=5"), ("hr_ci", "0.49"), ("median_iqr", "56.00 [51.00]"),
    ("p", "p=0.03"), ("percent", "about 20"), ("number", "5.7 mg"), ("ratio", "1"),
])
def test_parse_rejects_malformed(kind, raw):
    with pytest.raises(ValueError):
        parse_value(kind, raw)


def test_all_kinds_are_used(reg):
    assert {e.kind for e in reg} == set(KINDS)


def test_registry_reports_unknown_population_and_bad_cell():
    raw = {"populations": {"all": {"n": 70}},
           "tables": {"tx": {"columns": {"c": {"kind": "hr_ci"}},
                             "rows": [{"id": "r", "population": "arm:X", "cells": {"c": "0.5"}}]}}}
    with pytest.raises(RegistryError) as err:
        parse_registry(raw, "mem.toml")
    assert len(err.value.problems) == 2  # unknown population + unparseable HR cell
