"""Tests of the consistency audit (hccbayes.data.published.audit) and the ``hccbayes audit`` command.

A small registry written here is consistent by construction (every percent is k/N rounded to the printed
decimals, category counts sum to the arm sizes, the two partitions of the cohort imply the same totals,
HR CIs are symmetric on the log scale and every p is the Wald p of its CI, rounded) and must produce no
finding. Each seeded variant breaks exactly one relation and must produce findings of exactly one rule.
The bundled yin2025 registry and the ``hccbayes audit`` command: tests/test_audit_yin2025.py.
"""
from __future__ import annotations

import math
import tomllib

import pytest
from scipy.stats import norm

from hccbayes.data import Finding, audit
from hccbayes.data.published.audit import findings_frame
from hccbayes.data.published.registry import parse_registry

DERIVED = {"best_response": {"ORR": ["CR", "PR"], "DCR": ["CR", "PR", "SD"]}}


def wald_p(est: float, lo: float, hi: float) -> str:
    """Closed form: SE = (ln hi - ln lo)/(2*1.959964), p = 2(1 - Phi(|ln est| / SE)), printed to 3 dp."""
    se = (math.log(hi) - math.log(lo)) / (2 * 1.959964)
    return f"{2 * norm.sf(abs(math.log(est)) / se):.3f}"


P_ARM = wald_p(0.50, 0.30, 0.83)  # 0.008
P_AGE = wald_p(1.20, 0.60, 2.40)  # 0.606

CONSISTENT = f"""
[registry]
study = "toy"

[populations]
all = {{ n = 30 }}
"arm:A" = {{ n = 10, parent = "all" }}
"arm:B" = {{ n = 20, parent = "all" }}
"grp:hi" = {{ parent = "all" }}
"grp:lo" = {{ parent = "all" }}

[partitions]
arm = {{ whole = "all", parts = ["arm:A", "arm:B"] }}
grp = {{ whole = "all", parts = ["grp:lo", "grp:hi"] }}

[tables.t1]
measure = "baseline"
[tables.t1.columns]
overall = {{ population = "all" }}
a = {{ population = "arm:A" }}
b = {{ population = "arm:B" }}
[[tables.t1.rows]]
id = "age"
kind = "median_iqr"
variable = "age"
cells = {{ overall = "56.00 [51.00, 63.00]" }}
[[tables.t1.rows]]
id = "sex.f"
kind = "count"
variable = "sex"
level = "F"
cells = {{ a = "3 (30.0)", b = "5 (25.0)" }}
[[tables.t1.rows]]
id = "sex.m"
kind = "count"
variable = "sex"
level = "M"
cells = {{ a = "7 (70.0)", b = "15 (75.0)" }}

[tables.t2]
measure = "km_median"
endpoint = "pfs"
[tables.t2.columns]
m = {{ kind = "median_ci" }}
[[tables.t2.rows]]
id = "all"
population = "all"
cells = {{ m = "4.40 (3.30-5.50)" }}
[[tables.t2.rows]]
id = "a"
population = "arm:A"
cells = {{ m = "3.10 (2.00-4.20)" }}
[[tables.t2.rows]]
id = "b"
population = "arm:B"
cells = {{ m = "5.20 (4.00-6.40)" }}

[tables.t3]
measure = "best_response"
variable = "best_response"
[tables.t3.columns]
a = {{ population = "arm:A" }}
b = {{ population = "arm:B" }}
[[tables.t3.rows]]
id = "cr"
kind = "count"
level = "CR"
cells = {{ a = "1 (10.0)", b = "2 (10.0)" }}
[[tables.t3.rows]]
id = "pr"
kind = "count"
level = "PR"
cells = {{ a = "2 (20.0)", b = "4 (20.0)" }}
[[tables.t3.rows]]
id = "sd"
kind = "count"
level = "SD"
cells = {{ a = "3 (30.0)", b = "8 (40.0)" }}
[[tables.t3.rows]]
id = "pd"
kind = "count"
level = "PD"
cells = {{ a = "4 (40.0)", b = "6 (30.0)" }}
[[tables.t3.rows]]
id = "orr"
kind = "count"
level = "ORR"
cells = {{ a = "3 (30.0)", b = "6 (30.0)" }}
[[tables.t3.rows]]
id = "dcr"
kind = "count"
level = "DCR"
cells = {{ a = "6 (60.0)", b = "14 (70.0)" }}

[tables.t4]
measure = "cox_hr"
population = "all"
endpoint = "pfs"
model = "multivariable"
[tables.t4.columns]
hr = {{ kind = "hr_ci" }}
p = {{ kind = "p" }}
[[tables.t4.rows]]
id = "arm"
factor = "arm_b"
cells = {{ hr = "0.50 (0.30-0.83)", p = "{P_ARM}" }}
[[tables.t4.rows]]
id = "age"
factor = "age_high"
cells = {{ hr = "1.20 (0.60-2.40)", p = "{P_AGE}" }}
[[tables.t4.rows]]
id = "ecog"
factor = "ecog"
cells = {{ hr = "1.50 (0.75-3.00)" }}

[[text]]
id = "age"
kind = "median_iqr"
value = "56 (51–63)"
measure = "baseline"
population = "all"
variable = "age"

[[text]]
id = "km.b"
kind = "median_ci"
value = "5.20 (4.00–6.40)"
measure = "km_median"
endpoint = "pfs"
population = "arm:B"

[[text]]
id = "grp.hi.a"
kind = "count"
value = "4 (40.0)"
measure = "grp"
variable = "grp"
level = "hi"
population = "arm:A"

[[text]]
id = "grp.hi.b"
kind = "count"
value = "6 (30.0)"
measure = "grp"
variable = "grp"
level = "hi"
population = "arm:B"

[[text]]
id = "orr.hi"
kind = "percent"
value = "30.0"
measure = "best_response"
variable = "best_response"
level = "ORR"
population = "grp:hi"

[[text]]
id = "orr.lo"
kind = "percent"
value = "30.0"
measure = "best_response"
variable = "best_response"
level = "ORR"
population = "grp:lo"

[[text]]
id = "dcr.hi"
kind = "percent"
value = "70.0"
measure = "best_response"
variable = "best_response"
level = "DCR"
population = "grp:hi"

[[text]]
id = "dcr.lo"
kind = "percent"
value = "65.0"
measure = "best_response"
variable = "best_response"
level = "DCR"
population = "grp:lo"

[[text]]
id = "events.b"
kind = "percent"
value = "75.0"
measure = "events"
endpoint = "pfs"
population = "arm:B"

[[text]]
id = "hr.arm"
kind = "hr_ci"
value = "0.50 (0.30–0.83)"
measure = "cox_hr"
population = "all"
endpoint = "pfs"
model = "multivariable"
factor = "arm_b"

[[text]]
id = "p.arm"
kind = "p"
value = "{P_ARM}"
measure = "cox_hr"
population = "all"
endpoint = "pfs"
model = "multivariable"
factor = "arm_b"
"""


def toy(old: str | None = None, new: str | None = None):
    text = CONSISTENT if old is None else CONSISTENT.replace(old, new, 1)
    assert old is None or text != CONSISTENT, f"seed {old!r} not found"
    return parse_registry(tomllib.loads(text), "<toy>")


def rules(findings: list[Finding]) -> set[str]:
    return {f.rule.split(".")[0] for f in findings}


def test_consistent_registry_has_no_findings():
    assert P_ARM == "0.008" and P_AGE == "0.606"
    assert audit(toy(), DERIVED) == []


# (rule letter, text to replace, replacement, ids that must be named)
SEEDS = [
    # a: 3/10 = 30.0% printed 35.3; no N <= 30 gives 3/N = 35.3%
    ("a", 'a = "3 (30.0)"', 'a = "3 (35.3)"', {"t1.sex.f.a"}),
    # b: percent-only 73.7% of N = 20 fits no k/20 but fits 14/19
    ("b", 'value = "75.0"', 'value = "73.7"', {"text.events.b"}),
    # b: "5 (26.3)" implies N = 19, not arm B's 20
    ("b", 'b = "5 (25.0)"', 'b = "5 (26.3)"', {"t1.sex.f.b"}),
    # c: CR + PR + SD + PD = 1 + 2 + 3 + 5 = 11 != 10
    ("c", 'a = "4 (40.0)", b = "6 (30.0)"', 'a = "5 (50.0)", b = "6 (30.0)"', {"t3.pd.a"}),
    # c: DCR 6 != CR + PR + SD = 1 + 2 + 4 (category sum kept at 10 by moving one PD to SD)
    ("c", 'a = "3 (30.0)", b = "8 (40.0)"', 'a = "4 (40.0)", b = "8 (40.0)"', {"t3.dcr.a", "t3.sd.a"}),
    # d: ORR over grp = 4 (40.0% of 10) + 6 (30.0% of 20) = 10, over arm = 3 + 6 = 9
    ("d", 'id = "orr.hi"\nkind = "percent"\nvalue = "30.0"', 'id = "orr.hi"\nkind = "percent"\nvalue = "40.0"',
     {"text.orr.hi", "t3.orr.a", "t3.orr.b"}),
    # e: 2.20 inside (0.75, 3.00) but far from its geometric centre 1.50
    ("e", '"1.50 (0.75-3.00)"', '"2.20 (0.75-3.00)"', {"t4.ecog.hr"}),
    # f: Wald p of 1.20 (0.60-2.40) is 0.606, printed 0.306
    ("f", f'p = "{P_AGE}"', 'p = "0.306"', {"t4.age.hr", "t4.age.p"}),
    # g: median 4.40 below its CI (4.50-5.50)
    ("g", '"4.40 (3.30-5.50)"', '"4.40 (4.50-5.50)"', {"t2.all.m"}),
    # h: text upper bound 6.90 vs table 6.40
    ("h", '"5.20 (4.00–6.40)"', '"5.20 (4.00–6.90)"', {"text.km.b", "t2.b.m"}),
    # h: the same numbers labelled IQR in the text and 95% CI in Table 2
    ("h", 'id = "km.b"\nkind = "median_ci"', 'id = "km.b"\nkind = "median_iqr"', {"text.km.b", "t2.b.m"}),
    # i: whole-cohort median 6.40 outside [3.10, 5.20]
    ("i", '"4.40 (3.30-5.50)"', '"6.40 (5.00-7.00)"', {"t2.all.m", "t2.a.m", "t2.b.m"}),
]


@pytest.mark.parametrize("letter,old,new,ids", SEEDS, ids=[f"{s[0]}-{i}" for i, s in enumerate(SEEDS)])
def test_seeded_inconsistency_gives_exactly_its_rule(letter, old, new, ids):
    findings = audit(toy(old, new), DERIVED)
    assert rules(findings) == {letter}, [(f.rule, f.arithmetic) for f in findings]
    assert ids <= {i for f in findings for i in f.entries}


def test_truncated_percent_is_a_warning_not_an_error():
    # 2/30 = 6.67%: "6.6" is the truncation, not the rounding, of the exact value
    reg = toy('[[tables.t1.rows]]\nid = "sex.f"', '[[tables.t1.rows]]\nid = "rare"\nkind = "count"\n'
              'variable = "rare"\nlevel = "yes"\ncells = { overall = "2 (6.6)" }\n\n[[tables.t1.rows]]\nid = "sex.f"')
    (f,) = audit(reg, DERIVED)
    assert (f.rule, f.severity, f.entries) == ("a.percent_count", "warning", ("t1.rare.overall",))
    assert "truncation" in f.arithmetic


def test_findings_frame_columns():
    df = findings_frame(audit(toy('"4.40 (3.30-5.50)"', '"4.40 (4.50-5.50)"'), DERIVED))
    assert list(df.columns) == ["rule", "severity", "entries", "message", "arithmetic"]
    assert df.loc[0, "rule"] == "g.median_interval"
