"""The consistency audit on the bundled yin2025 registry, and the ``hccbayes audit`` command.

The yin2025 assertions cite the paper's printed figures (../shared/paper/); they are exact comparisons of
printed values, so no tolerance applies beyond the printed rounding that the audit itself models. The
rules themselves are tested on a registry consistent by construction in tests/test_audit.py.
"""
from __future__ import annotations

import io

import pandas as pd
import pytest

from hccbayes.cli import main
from hccbayes.data import Finding, audit, load_registry


# ---- the bundled yin2025 registry ------------------------------------------------------------------
@pytest.fixture(scope="module")
def yin():
    reg = load_registry("yin2025")
    return reg, audit(reg)


def _ids(entries) -> set[str]:
    return {e.id for e in entries}


def _hits(findings, rule: str, must: set[str]) -> list[Finding]:
    return [f for f in findings if f.rule == rule and must <= set(f.entries)]


@pytest.mark.parametrize("level,table3,afp_change", [("ORR", (4, 8), (8, 6)), ("DCR", (13, 42), (26, 27))])
def test_yin_afp_change_responses_do_not_add_up_to_table3(yin, level, table3, afp_change):
    # Results 2.4: decreased ORR 24.2% / DCR 78.8%, elevated ORR 16.2% / DCR 73.0%; Results 2.3: elevated
    # AFP in 25 (TKI-ICI) + 12 (TKI) = 37, so decreased = 70 - 37 = 33; Table 3 per arm.
    reg, findings = yin
    t3 = _ids(reg.find(table="t3", variable="best_response", level=level, kind="count"))
    text = _ids(e for e in reg.find(table="text", variable="best_response", level=level)
                if e["population"].startswith("afp_change:"))
    assert len(t3) == 2 and len(text) == 2
    (f,) = _hits(findings, "d.partition_total", t3 | text)
    assert f.severity == "error"
    assert f"= {sum(table3)}" in f.arithmetic and f"= {sum(afp_change)}" in f.arithmetic
    assert "= 37" in f.arithmetic and "= 33" in f.arithmetic


def test_yin_nausea_percentage_does_not_match_count(yin):
    # Table 6: Nausea/vomiting TKI "4 (29.7)"; 4/21 = 19.05%
    reg, findings = yin
    (e,) = reg.find(table="t6", outcome="nausea_vomiting", grade="any", population="arm:TKI")
    (f,) = _hits(findings, "a.percent_count", {e.id})
    assert f.severity == "error" and "4/21 = 19.05%" in f.arithmetic and "29.7" in f.arithmetic


def test_yin_sn_multivariate_hr_off_centre_and_p_inconsistent(yin):
    # Table 4: SN PFS multivariate "0.47 (0.08-0.62)" p = 0.402; sqrt(0.08*0.62) = 0.223
    reg, findings = yin
    (hr,) = reg.find(kind="hr_ci", table="t4", factor="sn_high", endpoint="pfs", model="multivariable")
    (p,) = reg.find(kind="p", table="t4", factor="sn_high", endpoint="pfs", model="multivariable")
    assert [f.severity for f in _hits(findings, "e.ratio_ci", {hr.id})] == ["error"]
    assert [f.severity for f in _hits(findings, "f.p_vs_ci", {hr.id, p.id})] == ["error"]


def test_yin_text_median_age_outside_its_iqr(yin):
    # Results 2.1: "median age was 56 years (IQR, 51–53)"; Table 1: 56.00 [51.00, 63.00]
    reg, findings = yin
    (text,) = reg.find(table="text", variable="age")
    (table,) = reg.find(kind="median_iqr", table="t1", variable="age", population="all")
    assert [f.severity for f in _hits(findings, "g.median_interval", {text.id})] == ["error"]
    assert _hits(findings, "h.duplicate", {text.id, table.id})


def test_yin_text_anri_ci_disagrees_with_table4(yin):
    # Results 2.5: ANRI "0.23; 95% CI 0.08–0.26"; Table 4 PFS multivariate "0.23 (0.08-0.62)"
    reg, findings = yin
    pair = _ids(reg.find(kind="hr_ci", factor="anri_high", endpoint="pfs", model="multivariable", population="all"))
    assert len(pair) == 2
    (f,) = _hits(findings, "h.duplicate", pair)
    assert f.severity == "error" and "0.62" in f.arithmetic and "0.26" in f.arithmetic


def test_yin_other_known_slips(yin):
    reg, findings = yin
    # Table 5 OS univariate Cirrhosis "2.34 (0.54–10.08)" p = 0.897: Wald p = 0.25
    (hr,) = reg.find(kind="hr_ci", table="t5", factor="cirrhosis", endpoint="os", model="univariable")
    assert [f.severity for f in _hits(findings, "f.p_vs_ci", {hr.id})] == ["error"]
    # Results 2.7: "5 (25%)" of the TKI group (n = 21) implies N = 20
    (sub,) = reg.find(table="text", population="arm:TKI", variable="subsequent_therapy", level="any")
    (f,) = _hits(findings, "b.implied_denominator", {sub.id})
    assert "{20}" in f.arithmetic
    # Table 2 says "median (interquartile range)" but prints the text's 95% CIs
    assert any(f.rule == "h.interval_label" for f in findings)


# ---- CLI -------------------------------------------------------------------------------------------
def test_cli_audit_text(capsys):
    assert main(["audit", "--study", "yin2025"]) == 0
    out = capsys.readouterr().out
    n = len(audit(load_registry("yin2025")))
    last = out.strip().splitlines()[-1]
    assert last.startswith(f"{n} findings (") and last.endswith("published.toml")
    assert "== error" in out and "arithmetic: 4/21 = 19.05%" in out


def test_cli_audit_csv_and_severity(capsys):
    assert main(["audit", "--study", "yin2025", "--format", "csv", "--severity", "error"]) == 0
    captured = capsys.readouterr()
    df = pd.read_csv(io.StringIO(captured.out))
    assert list(df.columns) == ["rule", "severity", "entries", "message", "arithmetic"]
    assert len(df) > 0 and set(df["severity"]) == {"error"}
    assert f"{len(df)} findings ({len(df)} errors, 0 warnings, 0 info)" in captured.err


def test_cli_audit_unreadable_registry_exits_2(tmp_path, capsys):
    bad = tmp_path / "published.toml"
    bad.write_text("[registry\nstudy = 1\n", encoding="utf-8")
    assert main(["audit", "--study", str(bad)]) == 2
    assert "not valid TOML" in capsys.readouterr().err
