"""Summary-level (published HR + 95% CI) normal–normal reanalysis."""
from __future__ import annotations

import math
from types import SimpleNamespace

import pandas as pd
import pytest
from scipy import stats

from hccbayes.data.published.registry import load_registry
from hccbayes.inference.engine.links import summary_analysis_inputs
from hccbayes.inference.engine.rows_counts import summary_rows
from hccbayes.models.priors.sets import named_prior_sets
from hccbayes.models.summary_hr import (
    figure_notes,
    log_hr_likelihood,
    normal_update,
    published_hrs,
)

Z = 1.959963984540054  # Φ^-1(0.975)


@pytest.fixture(scope="module")
def registry():
    return load_registry("yin2025")


def table_rows(registry, tables=("t4", "t5", "text")) -> pd.DataFrame:
    """The run engine's rows of every published HR of ``tables`` under every named prior set (MCID 0.7)."""
    analysis = SimpleNamespace(id="summary", title="", prior_sets=tuple(named_prior_sets()), tables=tables)
    return pd.DataFrame(summary_rows(analysis, summary_analysis_inputs(analysis, registry), 0.7))


def test_prior_sets_have_the_stated_tail_probabilities():
    sets = {name: ps.contrast for name, ps in named_prior_sets(mcid=0.7).items()}  # summary-level log-HR priors
    sigma = -math.log(0.7) / 1.6448536269514722  # Spiegelhalter et al. 1994
    assert sets["skeptical"].sigma == pytest.approx(sigma, rel=1e-12)
    # P(HR < 0.7) = 0.05 under skeptical, P(HR > 1) = 0.05 under enthusiastic, P(HR < 1) = 0.05 under
    # pessimistic: normal cdf identities, exact to floating point (1e-12)
    sk, en, pe = sets["skeptical"], sets["enthusiastic"], sets["pessimistic"]
    assert stats.norm.cdf(math.log(0.7), sk.mu, sk.sigma) == pytest.approx(0.05, abs=1e-12)
    assert stats.norm.sf(0.0, en.mu, en.sigma) == pytest.approx(0.05, abs=1e-12)
    assert stats.norm.cdf(0.0, pe.mu, pe.sigma) == pytest.approx(0.05, abs=1e-12)


def test_posterior_is_the_normal_normal_closed_form():
    # Table 4, second-line TKI-ICI vs TKI, PFS multivariable: HR 0.49 (0.26-0.95)
    y, se = log_hr_likelihood(0.49, 0.26, 0.95)
    assert se == pytest.approx((math.log(0.95) - math.log(0.26)) / (2 * Z), rel=1e-12)
    s0 = -math.log(0.7) / 1.6448536269514722
    post = normal_update(y, se, 0.0, s0)
    # precision-weighted mean and sd written out (conjugate normal; floating point: rel 1e-12)
    w = (1 / se**2) / (1 / se**2 + 1 / s0**2)
    assert post.mean == pytest.approx(w * y, rel=1e-12)
    assert post.sd == pytest.approx((1 / se**2 + 1 / s0**2) ** -0.5, rel=1e-12)
    assert post.prob_hr_below(1.0) == pytest.approx(stats.norm.cdf(-post.mean / post.sd), rel=1e-12)


def test_vague_prior_reproduces_published_hr_and_ci_to_rounding(registry):
    df = table_rows(registry)
    vague = df[(df.source == "bayes:summary_normal:vague") & (df.quantity == "hr")
               & df.probability.isna()].set_index("registry_id")
    checked = 0
    for e, _p in published_hrs(registry):
        if figure_notes(e.estimate, e.lower, e.upper) or e.id not in vague.index:
            continue  # a printed figure that is not a symmetric log-CI (reported in note), or a duplicate
        y, se = log_hr_likelihood(e.estimate, e.lower, e.upper)
        k = 100.0 / (100.0 + se**2)  # shrinkage factor of the N(0, 10^2) prior: mean k·y, sd se·sqrt(k)
        row = vague.loc[e.id]
        # tolerance: half a unit of the printed last decimal + the prior's shrinkage |y|(1 − k) on the log
        # scale (at most 0.6% here), converted to the HR scale
        tol_est = 0.5 * 10 ** -e.decimals["estimate"] + e.estimate * (math.exp(abs(y) * (1 - k)) - 1)
        assert abs(row.estimate - e.estimate) <= tol_est + 1e-12, e.id
        # CI ends, on the log scale: printed-endpoint rounding, distance of ln HR from the log-CI midpoint
        # (rounding of the three printed numbers), shrinkage of mean and sd
        mid = (math.log(e.lower) + math.log(e.upper)) / 2
        for pub, got, d in ((e.lower, row.lower, e.decimals["lower"]), (e.upper, row.upper, e.decimals["upper"])):
            tol = (0.5 * 10 ** -d / pub + abs(y - mid) + abs(y) * (1 - k) + Z * se * (1 - math.sqrt(k))
                   + 0.5 * 10 ** -e.decimals["estimate"] / e.estimate)
            assert abs(math.log(got) - math.log(pub)) <= tol + 1e-12, e.id
        checked += 1
    assert checked >= 120  # all but the few flagged figures and the 5 text duplicates of 130 (Tables 4, 5, text)


def test_every_hr_of_tables_4_and_5_under_every_prior_set(registry):
    sets = named_prior_sets()
    df = table_rows(registry)
    hr_ids = {e.id for e in registry.find(kind="hr_ci") if e.table in ("t4", "t5")}
    # Table 4: 25 rows × 2 univariable + 8 PFS and 7 OS multivariable HRs = 65 printed HRs
    assert len({i for i in hr_ids if i.startswith("t4.")}) == 65
    for name in sets:
        sub = df[(df.source == f"bayes:summary_normal:{name}") & (df.quantity == "hr")]
        summaries, probs = sub[sub.probability.isna()], sub[sub.probability.notna()]
        assert hr_ids <= set(summaries.registry_id)
        # two thresholds (1 and the MCID 0.7) per HR, both "<"
        assert len(probs) == 2 * len(summaries) and set(probs.direction) == {"<"}
    published = df[(df.source == "published") & (df.quantity == "hr")]
    assert hr_ids <= set(published.registry_id)


def test_figure_notes_flag_the_text_anri_interval():
    # Results 2.5 prints high ANRI PFS HR 0.23 (95% CI 0.08-0.26); Table 4 prints 0.23 (0.08-0.62)
    assert "midpoint" in figure_notes(0.23, 0.08, 0.26)
    assert figure_notes(0.23, 0.08, 0.62) == ""
    assert "outside" in figure_notes(0.5, 0.6, 0.9)


def test_audit_flagged_entries_are_re_derived_excluded_or_analysed_once(registry):
    """Issue 16 part 3, on the yin2025 registry and its audit (hccbayes audit --study yin2025):

    * Table 4 SN multivariable PFS, 0.47 (0.08-0.62), p = 0.402: the CI is off its estimate (e.ratio_ci), so
      the SE comes from the p: |ln 0.47| / Φ⁻¹(1 − 0.402/2) (closed form, rel 1e-12) — not the CI's 0.522;
    * the Results text's ANRI 0.23 (0.08–0.26) is Table 4's 0.23 (0.08-0.62) printed again: analysed once, as
      the table's (SE 0.522 from its CI, not 0.301: the text's posterior would be 1.7 times too narrow);
    * every text HR that repeats a table cell has its published row only, with a note naming the cell.
    """
    df = table_rows(registry)
    sn = df[df.registry_id == "t4.sn_high.pfs_multi"]
    se = abs(math.log(0.47)) / stats.norm.isf(0.402 / 2)
    assert se == pytest.approx(0.901, abs=5e-4)  # the arithmetic of the note
    vague = sn[(sn.source == "bayes:summary_normal:vague") & sn.probability.isna()].iloc[0]
    post = normal_update(math.log(0.47), se, 0.0, 10.0)
    assert vague.estimate == pytest.approx(math.exp(post.mean), rel=1e-12)
    assert vague.upper == pytest.approx(math.exp(post.mean + Z * post.sd), rel=1e-12)
    assert sn["note"].str.contains("SE re-derived from the printed p = 0.402").all()
    wald = sn[sn.source == "frequentist"].iloc[0]
    assert wald.estimate == pytest.approx(0.402, rel=1e-9)  # the re-derived SE gives back the printed p
    text = df[df.registry_id == "text.cox.all.pfs.anri_high.hr"]
    assert set(text.source) == {"published"}
    assert text["note"].str.contains("duplicate: the same quantity as t4.anri_high.pfs_multi").all()
    assert text["note"].str.contains("printings disagree").all()
    table = df[(df.registry_id == "t4.anri_high.pfs_multi") & (df.source == "bayes:summary_normal:vague")
               & df.probability.isna()].iloc[0]
    y, se_table = log_hr_likelihood(0.23, 0.08, 0.62)
    assert se_table == pytest.approx(0.522, abs=5e-4)
    post = normal_update(y, se_table, 0.0, 10.0)
    assert table.upper == pytest.approx(math.exp(post.mean + Z * post.sd), rel=1e-12)
    duplicates = {e.id for e, _ in published_hrs(registry) if e.table == "text"}
    assert len(duplicates) == 5  # every Cox HR of Results 2.5 repeats a Table 4 or 5 cell
    assert not df[df.registry_id.isin(duplicates) & df.source.str.startswith("bayes:")].shape[0]
