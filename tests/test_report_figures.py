"""Report figures (issue 8): non-empty and showing the expected series, tested on the matplotlib
``Figure`` objects before they are saved (artists are found by the ``gid`` labels the figure functions
set), plus the report defects fixed with them (italics, thresholds, sentence order, a rebuild refits nothing).

Uses the shared factory run directory of tests/report_factory.py: PFS and OS arm fits (Weibull and PEM,
weakly informative prior) and one deliberately short PEM fit (skeptical prior) that fails the gate.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.lines import Line2D
from scipy import stats

from hccbayes.reports.build import build_report
from hccbayes.reports.document import Figure, Para, anchor, comparison_groups
from hccbayes.reports.figures import forest_rows
from hccbayes.reports.figures_extra import beta_from_quantiles, difference_density, sensitivity_frame
from hccbayes.reports.html import inline
from hccbayes.reports.numbers import fmt
from hccbayes.reports.rundir import load_run
from hccbayes.reports.sections import (
    _two_group_contrasts,
    primary_prior_set,
    report_blocks,
)
from hccbayes.reports.sentences import comparison_kind

from report_factory import shared_run_dir

ARMS = ("TKI", "TKI+ICI")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return load_run(shared_run_dir(tmp_path_factory))


@pytest.fixture(scope="module")
def blocks(run):
    return report_blocks(run)


@pytest.fixture(scope="module")
def figures(blocks) -> dict:
    out = {b.name: b.fig for b in blocks if isinstance(b, Figure)}
    assert len(out) == sum(isinstance(b, Figure) for b in blocks)  # file names are unique
    return out


def by_gid(fig, prefix: str) -> list:
    return [a for a in fig.findobj(lambda a: str(a.get_gid() or "").startswith(prefix))]


@pytest.mark.parametrize("endpoint", ["pfs", "os"])
def test_km_figure_has_steps_bands_medians_and_numbers_at_risk(run, figures, endpoint):
    fig = figures[f"km_arm-{endpoint}"]
    prior = primary_prior_set(run)
    models = sorted({f.model for f in run.fits.values() if f.analysis == f"arm_{endpoint}" and f.prior_set == prior})
    assert models == ["pem", "weibull"]  # report_factory.FITS
    steps = by_gid(fig, "km:")
    assert sorted(s.get_gid() for s in steps) == [f"km:{a}" for a in ARMS]
    for s in steps:  # a KM curve: starts at 1, never rises, has steps
        y = np.asarray(s.get_ydata(), float)
        assert y[0] == 1.0 and np.all(np.diff(y) <= 0) and len(y) > 5
    bands = by_gid(fig, "band:")
    assert all(isinstance(b, PolyCollection) for b in bands)
    assert sorted(b.get_gid() for b in bands) == sorted(f"band:{m}:{a}" for m in models for a in ARMS)
    for b in bands:
        v = b.get_paths()[0].vertices
        assert np.isfinite(v).all() and np.ptp(v[:, 1]) > 0.3  # a band from near 1 down the curve
    medians = by_gid(fig, "median:")
    assert sorted(m.get_gid() for m in medians) == sorted(f"median:{m}:{a}" for m in models for a in ARMS)
    risk = fig.axes[1]
    for level, arm in enumerate(ARMS):
        texts = [t for t in risk.texts if t.get_gid() == f"risk:{arm}"]
        assert len(texts) >= 3 and {t.get_position()[1] for t in texts} == {1 - level}  # one row per arm
        counts = [int(t.get_text()) for t in texts]
        assert counts == sorted(counts, reverse=True) and counts[0] > 0


def test_km_figure_draws_the_stored_curves(run, figures):
    """The figure plots the run's curves.csv and km.csv as stored (no recomputation): each posterior median
    line is the stored median of its model and arm, each KM step curve the stored survival at the event
    times, from (0, 1)."""
    fig = figures["km_arm-pfs"]
    prior = primary_prior_set(run)
    for level, arm in enumerate(ARMS):
        for model in ("pem", "weibull"):
            c = run.curves[(run.curves["analysis"] == "arm_pfs") & (run.curves["model"] == model)
                           & (run.curves["prior_set"] == prior) & (run.curves["level"] == level)]
            (line,) = [ln for ln in fig.axes[0].lines if ln.get_gid() == f"median:{model}:{arm}"]
            assert np.array_equal(line.get_ydata(), c["median"].to_numpy()) and len(c) > 20
        k = run.km[(run.km["analysis"] == "arm_pfs") & (run.km["level"] == level) & (run.km["events"] > 0)]
        (step,) = [ln for ln in fig.axes[0].lines if ln.get_gid() == f"km:{arm}"]
        assert np.array_equal(step.get_ydata(), np.r_[1.0, k["survival"].to_numpy()])


@pytest.mark.parametrize("prefix,endpoint", [(p, e) for p in ("t4", "t5") for e in ("pfs", "os")])  # yin2025's Cox tables
def test_forest_rows_equal_the_tables_hr_rows(run, figures, prefix, endpoint):
    rows = forest_rows(run.table, prefix, endpoint, primary_prior_set(run))
    t = run.table
    published = t[(t["source"] == "published") & (t["quantity"] == "hr") & t["probability"].isna()
                  & t["registry_id"].str.startswith(prefix + ".") & (t["endpoint"] == endpoint)]
    assert len(rows) == published["registry_id"].nunique() > 0
    ax = figures[f"forest_{prefix}_{endpoint}"].axes[0]
    assert [tl.get_text() for tl in ax.get_yticklabels()] == rows["label"].tolist()
    for key in ("published", "frequentist", "bayes"):  # one point per row that has that source
        points = [line for line in ax.lines if line.get_gid() == f"forest:{key}"]
        n = int(rows[f"{key}_estimate"].notna().sum())
        assert sum(len(line.get_xdata()) for line in points) == n, key
    assert rows["bayes_estimate"].notna().all()  # every published HR has its summary-level posterior
    assert rows["label"].str.contains(r" · prior Normal\(", regex=True).all()  # and shows its term's prior
    # right panel: P(HR < 1) of the same model under each prior set, one marker per row with that set
    sets = [c[2:] for c in rows.columns if c.startswith("p_")]
    assert len(sets) == 5  # the summary-level posteriors of the factory: five named sets
    axp = figures[f"forest_{prefix}_{endpoint}"].axes[1]
    for ps in sets:
        (line,) = [ln for ln in axp.lines if ln.get_gid() == f"forest:p:{ps}"]
        assert sorted(line.get_xdata()) == pytest.approx(sorted(rows[f"p_{ps}"].dropna()))


def _response_groups(run):
    return [(key, rows) for key, rows in comparison_groups(run.table) if comparison_kind(rows) == "response"]


def test_response_density_figure_has_one_curve_per_prior_and_the_thresholds(run, figures):
    groups = _response_groups(run)
    assert len(groups) == 2  # ORR and DCR of Table 3
    for key, rows in groups:
        fig = figures[f"response_{anchor(key[0])}"]  # one figure per analysis, a panel per endpoint
        all_rows = run.table[(run.table["analysis"] == key[0]) & (run.table["endpoint"] == key[2])]
        bayes = all_rows[all_rows["source"].str.startswith("bayes:")]
        curves = by_gid(fig, f"density:{key[2]}:")
        assert sorted(c.get_gid() for c in curves) == sorted(f"density:{key[2]}:{s}" for s in bayes["source"].unique())
        for c in curves:  # a density over percentage points: integrates to 1
            x, y = (np.asarray(v, float) for v in c.get_data())
            assert np.trapezoid(y, x) == pytest.approx(1.0, abs=2e-3) and (y >= 0).all()
        thresholds = set(bayes.loc[bayes["probability"].notna(), "threshold"].dropna())
        assert sorted(line.get_gid() for line in by_gid(fig, f"threshold:{key[2]}:")) == sorted(
            f"threshold:{key[2]}:{t:g}" for t in thresholds)


def test_difference_density_matches_the_beta_difference():
    """Closed form: E[p1 − p0] = a1/(a1+b1) − a0/(a0+b0) and Var = sum of the Beta variances; the
    tolerance is the bin width of the convolution (0.25 percentage points)."""
    a, b = (20, 30), (12, 40)
    rates = pd.DataFrame([{"group": g, "estimate": stats.beta.median(*ab), "lower": stats.beta.ppf(0.025, *ab),
                           "upper": stats.beta.ppf(0.975, *ab), "analysis": "x", "source": "s"}
                          for g, ab in (("A", a), ("B", b))])
    assert beta_from_quantiles(*rates.iloc[0][["estimate", "lower", "upper"]])[:2] == pytest.approx(a, rel=1e-3)
    x, dens = difference_density(rates, "B", "A")
    w = x[1] - x[0]
    mean = (x * dens).sum() * w
    var = ((x - mean) ** 2 * dens).sum() * w
    assert mean == pytest.approx(stats.beta.mean(*a) - stats.beta.mean(*b), abs=0.0025)
    assert var == pytest.approx(stats.beta.var(*a) + stats.beta.var(*b), rel=0.01)


def test_sensitivity_figure_has_one_interval_and_one_probability_per_prior_set(run, figures):
    checked = 0
    for key, rows in comparison_groups(run.table):
        frame = sensitivity_frame(rows)
        name = f"sensitivity_{anchor('-'.join(k for k in key if k))}"
        if comparison_kind(rows) != "hr" or len(frame) < 2:
            continue
        fig = figures[name]
        expected = {kind: sorted(f"sens:{kind}:{s}" for s in frame["source"]) for kind in ("cri", "prob")}
        segments = [a for a in by_gid(fig, "sens:cri:") if isinstance(a, LineCollection)]
        assert sorted(a.get_gid() for a in segments) == expected["cri"]  # the CrI bar of each prior set
        assert all(len(a.get_segments()) == 1 for a in segments)
        markers = [a for a in by_gid(fig, "sens:prob:") if isinstance(a, Line2D)]
        assert sorted(a.get_gid() for a in markers) == expected["prob"]
        p = sorted(float(m.get_xdata()[0]) for m in markers)
        assert p == pytest.approx(sorted(frame["p_below_1"]))
        checked += 1
    assert checked == 2  # arm PFS (Weibull, PEM weakly informative; PEM skeptical) and arm OS (two models)


def test_trace_and_rank_plots_only_for_failing_fits(run, figures):
    failing = {anchor(k) for k, f in run.fits.items() if not f.diagnostics.get("ok", True)}
    assert len(failing) == 1 and len(run.fits) == 5  # report_factory.BAD
    for kind in ("trace", "rank"):
        names = {n.split("_", 1)[1] for n in figures if n.startswith(kind + "_")}
        assert names == failing
        fig = figures[f"{kind}_{next(iter(failing))}"]
        assert fig.axes and any(ax.lines or ax.collections for ax in fig.axes)


def test_km_groups_found_when_the_hr_contrast_is_a_term():
    """A run engine may label the HR by its term and the median difference by the two groups."""
    t = pd.DataFrame({"analysis": ["arm_pfs", "arm_pfs", "cox"], "quantity": ["hr", "median_diff", "hr"],
                      "source": ["bayes:pem:w", "bayes:pem:w", "bayes:summary_normal:w"],
                      "contrast": ["tki_ici", "TKI+ICI vs TKI", "male"]})
    assert _two_group_contrasts(t) == {"arm_pfs": ("TKI", "TKI+ICI")}


def test_italics_render_and_snake_case_does_not():
    assert inline("data that *reproduce the summaries* or _these_") == (
        "data that <em>reproduce the summaries</em> or <em>these</em>")
    assert inline("t5_os_uni_age_gt60 and 2 * 3 * 4") == "t5_os_uni_age_gt60 and 2 * 3 * 4"


def test_thresholds_print_plainly_and_sentences_lead_with_the_primary_prior(run, blocks):
    text = " ".join(b.text for b in blocks if isinstance(b, Para))
    assert "P(difference > 0) =" in text and "> 0.0)" not in text
    start = next(i for i, b in enumerate(blocks) if getattr(b, "anchor", "") == "sentences")
    end = next(i for i, b in enumerate(blocks) if getattr(b, "anchor", "") == "comparisons")
    section = [b for b in blocks[start:end] if isinstance(b, Para) and b.cls in ("sentence", "failed", "sensitivity")]
    prior = primary_prior_set(run).replace("_", " ")
    assert prior == "weakly informative"
    leads = [b for b in section if b.cls != "sensitivity"]
    assert leads and all(f"{prior} prior" in b.text for b in leads)
    pfs = [b.text for b in section if b.cls == "sensitivity" and "skeptical" in b.text]
    assert len(pfs) >= 2  # arm PFS (failed PEM fit) and the two response comparisons
    assert any("Under the skeptical prior (piecewise-exponential model) (MCMC diagnostics failed)" in t for t in pfs)


def test_rebuild_refits_nothing(run, tmp_path):
    """Issue 8 and 17: a rebuild reads the run and writes nothing into it — no fit, no fidelity table, no
    curve (its time on a full run is measured by benchmarks/bench_report.py, not asserted here)."""
    before = {p: p.stat().st_mtime_ns for p in run.path.rglob("*") if "report" not in p.parts}
    out = build_report(run.path, tmp_path / "rep")
    assert {p: p.stat().st_mtime_ns for p in run.path.rglob("*") if "report" not in p.parts} == before
    assert out["html"].stat().st_size > 0


def test_tipping_points_sentence_and_curve(run, blocks, figures):
    """The factory stores a real search for arm PFS (Weibull, from the weakly informative set): the figure
    draws every evaluated point of each search, and the sentence quotes the table's tipping rows."""
    stored = run.tipping["arm_pfs"]
    fig = figures["tipping_arm_pfs"]
    for parameter in ("prior_mean", "skeptical_mcid"):
        (line,) = by_gid(fig, f"tipping:{parameter}")  # one curve of every refit of that parameter
        expected = sorted({x for s in stored["points"] if s["parameter"] == parameter for x, _ in s["points"]})
        expected = np.exp(expected) if parameter == "prior_mean" else np.array(expected)
        assert np.asarray(line.get_xdata(), float) == pytest.approx(expected)
    crossed = [s for s in stored["points"] if s["value"] is not None and np.isfinite(s["value"])]
    assert len(by_gid(fig, "tipping:value:")) == len(crossed) >= 2
    rows = run.table[(run.table["quantity"] == "tipping_point") & (run.table["analysis"] == "arm_pfs")]
    assert len(rows) == 4  # prior centre and skeptical MCID, each at 0.95 and 0.5
    lead = "Progression-free survival by arm, TKI+ICI vs TKI, PFS, Weibull"
    text = next(b.text for b in blocks if isinstance(b, Para) and b.text.startswith(lead))
    crossed = rows[rows["estimate"].notna()]
    assert len(crossed) >= 2
    for value in crossed["estimate"]:
        assert fmt(value, "ratio") in text


def _small_figures():
    from matplotlib.figure import Figure as MplFigure

    out = []
    for i in range(5):
        fig = MplFigure(figsize=(3, 2), layout="constrained")
        ax = fig.add_subplot()
        ax.plot([0, 1, 2], [i, i + 1, i * i], label=f"series {i}")
        ax.legend()
        out.append(Figure(f"fig{i}", f"figure {i}", fig))
    return out


def test_figures_saved_by_helper_processes_equal_those_saved_here(tmp_path):
    from hccbayes.reports.figure_writer import FigureWriter

    one, two = _small_figures(), _small_figures()
    with FigureWriter(workers=1) as w:
        assert w.pool is None
        w.save(one, tmp_path / "one")
    with FigureWriter(workers=2) as w:
        w.save(two, tmp_path / "two")
    for a, b in zip(one, two):
        assert a.files["png_bytes"] == b.files["png_bytes"] == b.files["png"].read_bytes()  # same pixels
        assert b.files["svg"].stat().st_size > 0 and b.files["png"].parent == tmp_path / "two"
    assert not list((tmp_path / "two").glob("*.tmp"))


def test_a_figure_the_helper_cannot_take_is_saved_here(tmp_path, caplog):
    """A figure that cannot be pickled (a lambda tick formatter) fails in transit to the helper: the
    helper's whole share is saved by this process, with a warning."""
    from matplotlib.ticker import FuncFormatter

    from hccbayes.reports.figure_writer import FigureWriter

    figs = _small_figures()
    for b in figs:
        b.fig.axes[0].xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    with FigureWriter(workers=2) as w:
        w.save(figs, tmp_path)
    assert all(b.files["png"].is_file() and b.files["png_bytes"] for b in figs)
    assert "figure helper failed" in caplog.text
