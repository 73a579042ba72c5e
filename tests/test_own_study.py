"""A study of one's own: no published.toml, no regimens, no arms (a biomarker cohort), times in days — through
`hccbayes run` into a report; the time unit changes nothing but the units; a failing analysis is reported
for itself; a refused run writes nothing; missing covariates need a rule.

The cohort is simulated (seeded): 300 patients, a binary stage (HR 2 by construction) and a continuous
marker, Weibull times (shape 1.3, median about 400 days for stage 0) censored uniformly over 0-1500 days.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from hccbayes.api import AnalysesFailed, run_plan
from hccbayes.cli import main
from hccbayes.errors import HccbayesError
from hccbayes.inference.engine import survival_run
from hccbayes.inference.engine.plan import load_plan
from hccbayes.inference.engine.table import read_table

STUDY = """[study]
name = "marker"
title = "A biomarker cohort"
time_unit = "{unit}"
id_column = "id"

[endpoints.os]
label = "Overall survival"
time = "os_time"
event = "os_event"
event_label = "death"

[columns.stage]
type = "categorical"
label = "Stage"
levels = ["early", "late"]

[columns.marker]
type = "continuous"
label = "Marker level"
unit = "ng/mL"

[factors.late]
label = "Late vs early stage"
column = "stage"
levels = ["late"]
"""

PLAN = """[plan]
name = "marker"
study = "."
seed = 7

[defaults]
prior_sets = ["weakly_informative"]
quick_prior_set = "weakly_informative"
models = ["weibull"]
landmarks = [{landmark}]
quick_sampler = {{ draws = 300, tune = 300, chains = 2 }}

[[analyses]]
id = "stage_os"
kind = "survival"
endpoint = "os"
terms = ["late", "marker"]
continuous = ["marker"]
strata = "stage"
{extra}
"""


def make_study(folder, scale: float = 1.0, unit: str = "days", extra: str = "", missing: int = 0):
    rng = np.random.default_rng(15)
    n = 300
    late = rng.random(n) < 0.5
    marker = rng.normal(50.0, 10.0, n)
    scale_days = 400.0 / np.log(2) ** (1 / 1.3)
    latent = scale_days * (rng.exponential(size=n) / np.exp(np.log(2.0) * late)) ** (1 / 1.3)
    censor = rng.uniform(0.0, 1500.0, n)
    time = np.round(np.minimum(latent, censor) + 1.0)
    df = pd.DataFrame({"id": [f"P{i:03d}" for i in range(n)], "os_time": time * scale,
                       "os_event": (latent <= censor).astype(int),
                       "stage": np.where(late, "late", "early"), "marker": np.round(marker, 1)})
    df.loc[df.index[:missing], "marker"] = np.nan
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "study.toml").write_text(STUDY.format(unit=unit))
    (folder / "plan.toml").write_text(PLAN.format(landmark=365.0 * scale, extra=extra))
    df.to_csv(folder / "cohort.csv", index=False)
    return folder / "plan.toml"


@pytest.fixture(scope="module")
def days(tmp_path_factory):
    root = tmp_path_factory.mktemp("own")
    plan = make_study(root / "study")
    result = run_plan(plan, root / "run", quick=True, report=True)
    return result, read_table(root / "run" / "comparisons.csv")


def test_no_published_no_regimens_no_arms_runs_with_a_report(days):
    result, table = days
    assert set(table.source) == {"frequentist", "bayes:weibull:weakly_informative"}  # nothing published
    html = result.report.read_text(encoding="utf-8")
    assert "patient-level data" in html and "pseudo-patient" not in html
    assert "RMST to" in html and "(days)" in html
    late = table[(table.quantity == "hr") & table.source.str.startswith("bayes") & table.probability.isna()]
    sd = pd.read_csv(result.run_dir.parent / "study" / "cohort.csv")["marker"].std(ddof=1)  # the sample's SD
    assert list(late.contrast) == ["Stage late vs Stage early", f"Marker level, per SD ({sd:#.3g} ng/mL)"]
    # HR of late stage is 2 by construction; 300 patients, ~180 events: SE of the log-HR ~0.15
    assert np.log(late.estimate.iloc[0]) == pytest.approx(np.log(2.0), abs=0.35)
    rmst = table[(table.quantity == "rmst") & table.source.str.startswith("bayes")]
    # default horizon: the smallest last follow-up of the two stages, said in the note
    assert rmst.note.str.contains("the last follow-up of group").all()
    assert set(table[table.quantity == "survival"].horizon) == {365.0}


def test_time_unit_changes_nothing_but_the_units(days, tmp_path):
    """All times x 4 (a power of two, so the scaled times are exact): same seed, identical hazard ratios;
    medians, RMST and the landmark time scaled by 4 (closed form: S_c(t) = S(t / c))."""
    _, table = days
    plan = make_study(tmp_path / "study", scale=4.0, unit="quarter-days")
    run_plan(plan, tmp_path / "run", quick=True, checks=False)
    scaled = read_table(tmp_path / "run" / "comparisons.csv")
    bayes = lambda t, q: t[(t.quantity == q) & t.source.str.startswith("bayes") & t.probability.isna()]
    hr0, hr4 = bayes(table, "hr"), bayes(scaled, "hr")
    np.testing.assert_allclose(hr4.estimate, hr0.estimate, rtol=1e-6)  # MC-identical draws
    for q in ("median", "rmst", "median_diff", "rmst_diff"):
        a, b = bayes(table, q), bayes(scaled, q)
        np.testing.assert_allclose(b[["estimate", "lower", "upper"]], 4 * a[["estimate", "lower", "upper"]],
                                   rtol=1e-6)
    np.testing.assert_allclose(bayes(scaled, "survival").estimate, bayes(table, "survival").estimate, rtol=1e-6)
    assert set(bayes(scaled, "median").unit) == {"quarter-days"}


def test_horizon_beyond_follow_up_is_refused_with_a_fix_and_writes_nothing(tmp_path, capsys):
    plan = make_study(tmp_path / "study", extra="horizon = 5000.0")
    assert main(["run", str(plan), "--out", str(tmp_path / "run"), "--quick"]) == 2
    err = capsys.readouterr().err
    assert "beyond the last follow-up" in err and "extrapolate = true" in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_missing_values_need_a_rule(tmp_path):
    plan = make_study(tmp_path / "study", missing=30)
    with pytest.raises(HccbayesError, match='missing = "complete_case"'):
        run_plan(plan, tmp_path / "run", quick=True)
    assert not (tmp_path / "run").exists()


def test_a_failing_analysis_is_reported_for_itself(tmp_path, monkeypatch, capsys):
    plan = make_study(tmp_path / "study")
    original = survival_run.run_survival

    def broken(ctx, a, status):
        raise FloatingPointError("All tail values are the same")

    monkeypatch.setattr(survival_run, "run_survival", broken)
    from hccbayes.inference.engine import checks_stage
    from hccbayes.inference.engine import run as engine
    monkeypatch.setattr(engine, "run_survival", broken)
    assert main(["run", str(plan), "--out", str(tmp_path / "run"), "--quick"]) == 2
    err = capsys.readouterr().err
    assert "stage_os: FloatingPointError: All tail values are the same" in err and "Traceback" not in err
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["status"] == "failed" and run["analyses"]["stage_os"]["status"] == "failed"
    assert (tmp_path / "run" / "comparisons.csv").is_file()  # the table is written all the same
    assert "FAILED" in (tmp_path / "run" / "report" / "report.md").read_text()
    monkeypatch.setattr(engine, "run_survival", original)
    with pytest.raises(AnalysesFailed):  # a check failing keeps the table too
        monkeypatch.setattr(checks_stage, "run_checks", lambda *a, **k: (_ for _ in ()).throw(ValueError("bad check")))
        run_plan(load_plan(plan), tmp_path / "run", quick=True, force=True)
    assert json.loads((tmp_path / "run" / "run.json").read_text())["checks_error"] == "ValueError: bad check"


def test_a_refused_run_leaves_no_folder(tmp_path, capsys):
    plan = make_study(tmp_path / "study")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    assert main(["run", str(plan), "--out", str(busy), "--quick"]) == 2
    assert sorted(p.name for p in busy.iterdir()) == ["notes.txt"]  # no fits/ left behind
