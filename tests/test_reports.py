"""Reports (issue 8): every number in report.md / report.html traces to an input through the one
formatter, the HTML is self-contained, the sentence wording follows the documented rules, the CLI
rebuilds a report from a finished run.

The run directory is built once per session by tests/report_factory.py (small real fits on the bundled
pseudo-patient cohort, about 20 s on the project machine).
"""
from __future__ import annotations

import html.parser
import json
import re

import pandas as pd
import pytest

from hccbayes.cli import main
from hccbayes.inference.engine.table import make_table
from hccbayes.inference.fitting.diagnostics import BFMI_MIN, ESS_MIN, RHAT_MAX
from hccbayes.reports.build import build_report
from hccbayes.reports.figures import CI_PROB
from hccbayes.reports.numbers import KINDS, cell_kind, fmt, numeric_tokens
from hccbayes.reports.rundir import load_run
from hccbayes.reports.sentences import (
    COHORT_TAG,
    EXACT_TAG,
    NULL,
    PROBABLE,
    STRONG,
    comparison_sentences,
    group_phrases,
)

from report_factory import shared_run_dir

NUMERIC = ("estimate", "lower", "upper", "probability", "threshold", "horizon")
STRING_VALUES = ("analysis", "title", "population", "endpoint", "contrast", "group", "source", "prior_set",
                 "interval", "registry_id", "diagnostics")
# the only numbers allowed without an input behind them: citations' years, numbered tables/figures and
# checklist items (patterns as narrow as the report's wording)
WHITELIST = (r"\b(?:Kruschke|et al\.) (?:19|20)\d\d\b", r"\bTables? \d+(?:\s*(?:and|,)\s*\d+)*",
             r"\bFigure \d+", r"\b(?:BARG|ROBUST) item \d+")


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory):
    return shared_run_dir(tmp_path_factory)


@pytest.fixture(scope="session")
def report(run_dir):
    return build_report(run_dir)


def allowed_tokens(run_dir) -> set[str]:
    """Every numeric token the report may contain, rebuilt independently from the inputs."""
    run = load_run(run_dir)
    ok: set[str] = set()

    def add(value, kinds=KINDS):
        for k in kinds:
            try:
                ok.update(numeric_tokens(fmt(value, k)))
            except (TypeError, ValueError):
                pass

    def add_text(text):
        ok.update(numeric_tokens(str(text)))

    t = run.table
    for r in t.to_dict("records"):  # numeric cells: only in the kind their quantity gets
        for col in NUMERIC:
            if r[col] == r[col]:  # not NaN
                add(r[col], [cell_kind(col, r["quantity"], r["unit"])])
                if col == "estimate":
                    add(abs(r[col]), [cell_kind(col, r["quantity"], r["unit"])])
        for col in STRING_VALUES:
            add_text(r[col])
    for f in run.fits.values():  # fit attrs: diagnostics, sampler settings, seeds, priors in words
        d = f.diagnostics
        add(d["max_rhat"], ["rhat"])
        for k in ("min_ess_bulk", "min_ess_tail", "divergences", "draws", "chains"):
            add(d[k], ["count"])
        add(d["min_bfmi"], ["real"])
        for v in f.sampler.values():
            if v is not None:
                add(v, ["count", "real"])
        add(f.attrs["seed"], ["count"])
        add_text(f.attrs.get("prior_description", ""))
        add_text(f.key)
        for v in json.loads(f.attrs["priors"])["baseline"].values():  # baseline priors in the Methods
            for x in (v.values() if isinstance(v, dict) else [v]):
                add(x, ["real"])
        add(len(json.loads(f.attrs["fitted_spec"])["cuts"] or []) + 1, ["count"])  # PEM intervals
    for n in range(len(run.fits) + 1):  # numbers of fits / analyses sharing a setting
        add(n, ["count"])
    add(run.run["plan"]["seed"], ["count"])
    for v in run.versions.values():
        add_text(v)
    for c in (RHAT_MAX, ESS_MIN, BFMI_MIN):
        add(c, ["real", "count"])
    for c in (STRONG, PROBABLE):
        add(c, ["prob"])
    add(100 * CI_PROB, ["count"])
    add(NULL["ratio"], ["real"])
    fid = run.fidelity
    for kind in ("hard", "soft"):
        sub = fid[fid["kind"] == kind]
        add(len(sub), ["count"])
        add(int(sub["passed"].astype(str).str.lower().eq("true").sum()), ["count"])
        for target in sub["target"]:
            add_text(target)
    f = run.findings
    add_text(" ".join(f["message"]) + " " + " ".join(f["arithmetic"]))
    for s in ("error", "warning", "info"):
        add(int((f["severity"] == s).sum()), ["count"])
    add_text(run.provenance)
    add_text(run.study.citation)
    return ok


class _Text(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.parts, self._skip = [], False

    def handle_starttag(self, tag, attrs):
        self._skip = tag in ("style", "script")

    def handle_endtag(self, tag):
        self._skip = False

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def html_text(page: str) -> str:
    p = _Text()
    p.feed(page)
    return " ".join(p.parts)


def md_text(md: str) -> str:
    """Report text without link targets and file names (paths, not prose)."""
    md = re.sub(r"!\[[^\]]*\]\([^)]*\)", " ", md)
    md = re.sub(r"\((?:tables|figures)/[^)]*\)", " ", md)
    md = re.sub(r'<a id="[^"]*"></a>', " ", md)
    return re.sub(r"\]\(#[^)]*\)", "]", md)


def stray_numbers(text: str, allowed: set[str]) -> list[str]:
    for pattern in WHITELIST:
        text = re.sub(pattern, " ", text)
    return sorted({tok for tok in numeric_tokens(text) if tok not in allowed})


@pytest.mark.parametrize("fmt_name", ["markdown", "html"])
def test_every_number_traces_to_an_input(run_dir, report, fmt_name):
    raw = report[fmt_name].read_text(encoding="utf-8")
    text = html_text(raw) if fmt_name == "html" else md_text(raw)
    assert len(numeric_tokens(text)) > 500  # the check has something to check
    assert stray_numbers(text, allowed_tokens(run_dir)) == []


def test_a_typed_number_would_be_caught(run_dir):
    """The provenance check can fail: a hand-typed HR is not a formatted table value."""
    assert stray_numbers("posterior median HR 0.4321", allowed_tokens(run_dir)) == ["0.4321"]


def test_html_is_self_contained(report):
    page = report["html"].read_text(encoding="utf-8")
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", page, re.I)
    assert "<link" not in page.lower() and "<script" not in page.lower()
    assert "@import" not in page and "url(" not in page
    assert page.count("data:image/png;base64,") == len(report["figures"]) // 2  # every figure embedded


def test_files_written_and_nothing_half_written(run_dir, report):
    out = report["html"].parent
    assert not list(out.rglob("*.tmp"))
    for path in report["tables"] + report["figures"]:
        assert path.stat().st_size > 0
    tex = next(p for p in report["tables"] if p.name == "diagnostics.tex").read_text()
    assert r"\toprule" in tex and r"\midrule" in tex and r"\bottomrule" in tex


def test_guard_and_diagnostics_are_visible(report):
    md = report["markdown"].read_text(encoding="utf-8")
    # every section with cohort-based rows starts with the interpretation guard
    for section in ("Data and provenance", "Sentences for papers", "Comparisons", "Figures", "Prior sensitivity"):
        body = md.split(f"## {section} ")[1].split("\n## ")[0]
        assert "not patient records" in body, section
    assert "exact re-analysis" in md and "pseudo-patient cohort" in md
    # the deliberately short fit (report_factory.BAD) fails the gate: FAILED in its rows and its sentence
    assert "FAILED: R-hat" in md
    assert "MCMC diagnostics failed" in md
    for anchor in ("methods", "diagnostics", "sensitivity", "comparisons", "sentences", "data", "figures"):
        assert f'<a id="{anchor}"></a>' in md and f"(#{anchor})" in md  # checklist links resolve


def _hr_table(median, p_below_1, ok=True):
    base = dict(analysis="a", title="PFS", population="all", endpoint="pfs", contrast="B vs A",
                source="bayes:weibull:vague", model="weibull", prior_set="vague", unit="HR", quantity="hr",
                diagnostics_ok=ok, diagnostics="" if ok else "R-hat 1.2 > 1.01", cohort_based=True)
    # a primary comparison: the plan stratified it, so it also has the difference in median survival
    diff = dict(base, quantity="median_diff", unit="months", estimate=1.0, lower=-1.0, upper=3.0, interval="95% ETI")
    return make_table([dict(base, estimate=median, lower=median / 2, upper=median * 2, interval="95% ETI"),
                       dict(base, probability=p_below_1, threshold=1.0, direction="<"), diff])


@pytest.mark.parametrize("median,p,effect,association", [
    (0.5, 0.99, "B reduced the hazard of progression",          # p_dir 0.99 >= STRONG
     "B was associated with a lower hazard of progression"),
    (0.5, 0.90, "B probably reduced the hazard",                 # PROBABLE <= 0.90 < STRONG
     "B was probably associated with a lower hazard"),
    (0.9, 0.60, "B showed no clear difference in the hazard",    # 0.60 < PROBABLE
     "B showed no clear difference in the hazard"),
    (1.8, 0.02, "B increased the hazard",                        # p_dir = 1 - 0.02 >= STRONG
     "B was associated with a higher hazard"),
    (1.3, 0.15, "B probably increased the hazard",               # p_dir = 0.85
     "B was probably associated with a higher hazard"),
])
def test_sentence_wording_follows_the_rules_and_the_design(median, p, effect, association):
    """Effects only for a contrast of two arms of a randomised study; an association otherwise (the default:
    a study that does not say it was randomised), and for any contrast that is not between randomised arms."""
    for arms, expected in ((("A", "B"), effect), ((), association), (("A", "C"), association)):
        (s,) = comparison_sentences(_hr_table(median, p), {"pfs": "progression"}, randomised_arms=arms)
        assert s.text.startswith("Compared with A, " + expected)
        assert f"P(HR < 1) = {fmt(p, 'prob')}" in s.text and "MCMC diagnostics failed" not in s.text
        if arms != ("A", "B"):
            assert "reduced" not in s.text and "increased" not in s.text


def test_response_sentences_of_a_non_randomised_comparison_are_associations():
    base = dict(analysis="t3", title="Table 3", population="all", endpoint="best_response:ORR",
                contrast="TKI+ICI vs TKI", quantity="rate_diff", source="bayes:beta_binomial:weakly_informative",
                model="beta_binomial", prior_set="weakly_informative", unit="proportion", cohort_based=False)
    table = make_table([dict(base, estimate=0.12, lower=0.01, upper=0.25, interval="95% ETI"),
                        dict(base, probability=0.98, threshold=0.0, direction=">")])
    (assoc,) = comparison_sentences(table)
    assert assoc.text.startswith("Compared with TKI, TKI+ICI was associated with a higher objective response "
                                 "rate (ORR), by 12.0 percentage points")
    (effect,) = comparison_sentences(table, randomised_arms=("TKI", "TKI+ICI"))
    assert effect.text.startswith("Compared with TKI, TKI+ICI increased the objective response rate (ORR) by 12.0 "
                                  "percentage points")


def test_failed_diagnostics_are_said():
    (s,) = comparison_sentences(_hr_table(0.5, 0.99, ok=False))
    assert "MCMC diagnostics failed (R-hat 1.2 > 1.01)" in s.text and not s.diagnostics_ok


def test_a_response_comparison_from_counts_and_from_the_cohort_gets_one_sentence_each():
    """The AFP-change response comparison exists from the published counts and from the pseudo-patient
    cohort under the same source: two sentences, each with its own numbers and tag (they were once merged
    into one sentence quoting both probabilities), and the outcome named by its response level."""
    base = dict(analysis="afp", title="ORR and DCR by AFP change (elevated vs decreased)", population="all",
                endpoint="best_response:ORR", contrast="elevated vs decreased", quantity="rate_diff",
                source="bayes:beta_binomial:weakly_informative", model="beta_binomial",
                prior_set="weakly_informative", unit="proportion", diagnostics="closed form (no MCMC)")
    rows = []
    for cohort, est, p in ((False, -0.077, 0.21), (True, -0.005, 0.48)):
        rows += [dict(base, cohort_based=cohort, estimate=est, lower=est - 0.2, upper=est + 0.2, interval="95% ETI"),
                 dict(base, cohort_based=cohort, probability=p, threshold=0.0, direction=">")]
    populations = {"afp_change:elevated": "AFP elevated after 8 weeks", "arm:TKI": "TKI group",
                   "afp_change:decreased": "AFP decreased after 8 weeks", "regimen:REG-ICI": "REG-ICI"}
    assert group_phrases(populations) == {"elevated": "patients with AFP elevated after 8 weeks",
                                          "decreased": "patients with AFP decreased after 8 weeks"}  # names stay
    exact, cohort = comparison_sentences(make_table(rows), None, populations)
    assert exact.text.startswith("Compared with patients with AFP decreased after 8 weeks, patients with AFP "
                                 "elevated after 8 weeks showed no clear difference")
    assert exact.basis == EXACT_TAG and cohort.basis == COHORT_TAG
    assert "in the objective response rate (ORR)" in exact.text
    assert "−7.7 percentage points" in exact.text and "P(difference > 0) = 0.21" in exact.text
    assert "0.48" not in exact.text and "0.21" not in cohort.text and "P(difference > 0) = 0.48" in cohort.text


def test_cli_rebuilds_without_refitting(run_dir, tmp_path, capsys):
    fits_before = {p: p.stat().st_mtime_ns for p in (run_dir / "fits").glob("*.nc")}
    assert main(["report", str(run_dir), "--out", str(tmp_path / "rep")]) == 0
    assert (tmp_path / "rep" / "report.html").is_file()
    assert {p: p.stat().st_mtime_ns for p in (run_dir / "fits").glob("*.nc")} == fits_before
    assert main(["report", str(tmp_path / "nowhere")]) == 2
    assert "no comparison table" in capsys.readouterr().err


def test_run_json_versions_reach_the_methods(run_dir, report):
    versions = json.loads((run_dir / "run.json").read_text())["versions"]
    md = report["markdown"].read_text(encoding="utf-8")
    assert all(f"{k} {v}" in md for k, v in versions.items())


def test_methods_state_baseline_priors_intervals_sampler_groups_and_seeds(run_dir, report):
    md = report["markdown"].read_text(encoding="utf-8")
    methods = md[md.index("## Methods"):md.index("## Reporting checklist")]
    run = load_run(run_dir)
    pem = [f for f in run.fits.values() if f.model == "pem"]
    intervals = {len(json.loads(f.attrs["fitted_spec"])["cuts"]) + 1 for f in pem}
    assert len(intervals) == 1  # both arm analyses: 70 patients, 51 events -> about four events each
    (j,) = intervals
    assert j == 13 and f"{j} intervals in 2 analyses" in methods
    assert "shape ~ LogNormal(0, 0.5)" in methods and "Normal(log crude event rate, 2)" in methods
    # the factory's too-short fit is a minority sampler setting, named by its analysis
    assert "2 chains of 30 tuning and 30 kept draws, target acceptance 0.9 (1 fit of arm_pfs)" in methods
    assert f"derived from the plan seed {run.run['plan']['seed']}" in methods
    assert not any(f.key in methods for f in run.fits.values())  # no per-fit lists in a paper's Methods
    # yin2025 is not randomised (study.toml): Methods says so, and no sentence words a contrast as an effect
    assert "The study is not randomised" in methods
    assert "Log-HR prior of every term under each prior set" in methods  # the Methods table of term priors
    assert "Priors of the rate comparisons under each prior set" in methods and "log OR ~ Normal(0, 0.2168)" in methods
    assert "was associated with a lower hazard" in md and "reduced the hazard" not in md.replace(methods, "")


def test_loo_verdicts_count_the_better_model_and_clear_differences():
    from hccbayes.reports.model_checks_section import _loo_verdicts

    loo = pd.DataFrame({"analysis": ["a", "a", "b", "b", "c"], "prior_set": ["w"] * 5,
                        "model": ["weibull", "pem", "pem", "weibull", "pem"], "rank": [0, 1, 0, 1, 0],
                        "elpd_diff": [0.0, -5.0, 0.0, -1.0, float("nan")], "dse": [0.0, 2.0, 0.0, 1.0, float("nan")]})
    (text,) = _loo_verdicts(loo)  # c has one model only: no comparison
    assert text == ("of the 2 Weibull-vs-PEM comparisons the higher elpd is PEM in 1, Weibull in 1; "
                    "the difference exceeds twice its standard error in 1")


def test_probabilities_beyond_the_shown_precision_read_as_inequalities():
    from hccbayes.reports.numbers import prob_relation

    assert [prob_relation(p) for p in (0.9712, 0.99951, 0.0004)] == ["= 0.97", "> 0.999", "< 0.001"]
    (s,) = comparison_sentences(_hr_table(0.3, 0.9996), {"pfs": "progression"})
    assert "P(HR < 1) > 0.999" in s.text and "= >" not in s.text
