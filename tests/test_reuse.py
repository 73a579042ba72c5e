"""Issue 19 part 2: everything around the fits is kept under a content hash and reused (hccbayes/memo.py,
inference/engine/memo_run.py, the checks' memos in inference/checks/run_checks.py, reports/reuse.py).

A re-run with nothing changed rewrites no file (same bytes and modification times) and reads no posterior; a
changed analysis is the only one computed again; deleted outputs come back byte-identical; every input of a
run (cohort, study files, code, quick) changes the key. Small plan (tests/plans.py: 4 analyses, 300/300 draws).
"""
import hashlib
import importlib
import shutil
import sys

import numpy as np
import pandas as pd
import pytest

import hccbayes
from hccbayes import memo
from hccbayes.api import run_plan
from hccbayes.data.study import load_study
from hccbayes.inference.checks import fit_checks
from hccbayes.inference.engine.memo_run import run_digest, study_files
from hccbayes.inference.engine.plan import load_plan
from hccbayes.inference.fitting import cache as fit_cache
from hccbayes.inference.fitting.fit import ModelCache

from plans import MINI_PLAN


@pytest.fixture(scope="module")
def models():
    return ModelCache()  # one compile per model structure across this module's runs


@pytest.fixture
def study(user_study_with_plan):
    return user_study_with_plan(MINI_PLAN)


def _snapshot(folder):
    """{relative path: (SHA-256, modification time in ns)} of every file under ``folder``."""
    return {p.relative_to(folder).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_rerun_with_nothing_changed_rewrites_nothing_and_reads_no_posterior(study, tmp_path, models, monkeypatch):
    out = tmp_path / "run"
    first = run_plan(study / "plan.toml", out, cache=models, report=True)
    before = _snapshot(out)
    assert any(k.startswith("cache/analyses/") for k in before) and "report/report.html" in before

    def no_reading(*args, **kwargs):
        raise AssertionError("a posterior was read in a re-run with nothing changed")

    monkeypatch.setattr(fit_cache, "load_fit", no_reading)
    monkeypatch.setattr(fit_checks, "read_groups", no_reading)
    again = run_plan(study / "plan.toml", out, cache=models, report=True)
    assert _snapshot(out) == before  # every file: the same bytes and the same modification time
    assert again.table.equals(first.table)
    assert all(s["reused"] for s in again.statuses.values())
    assert {f["status"] for s in again.statuses.values() for f in s["fits"].values()} == {"cached"}


def test_changed_analysis_is_the_only_one_computed(study, tmp_path, models):
    out = tmp_path / "run"
    run_plan(study / "plan.toml", out, cache=models)
    changed = study / "changed.toml"  # one analysis' thresholds differ: its rows change, its fits do not
    changed.write_text(MINI_PLAN.replace('strata = "afp"', 'strata = "afp"\nthresholds = { hr = [1.0, 0.5] }'),
                       encoding="utf-8")
    again = run_plan(changed, out, cache=models, force=True)
    reused = {k: bool(s.get("reused")) for k, s in again.statuses.items()}
    assert reused == {"arm_os": True, "afp_os": False, "t3": True, "summary": True}
    assert {f["status"] for f in again.statuses["afp_os"]["fits"].values()} == {"cached"}  # fit inputs unchanged
    fresh = run_plan(changed, tmp_path / "fresh", cache=models)
    assert (out / "comparisons.csv").read_bytes() == (tmp_path / "fresh" / "comparisons.csv").read_bytes()
    assert again.table.equals(fresh.table)
    assert 0.5 in set(again.table.loc[again.table["analysis"] == "afp_os", "threshold"])


def test_deleted_outputs_come_back_identical(study, tmp_path, models):
    out = tmp_path / "run"
    run_plan(study / "plan.toml", out, cache=models, report=True)
    before = _snapshot(out)
    fit = sorted((out / "fits").glob("arm_os__*.nc"))[0]
    for path in (out / "checks" / "ppc.csv", out / "report" / "report.md", fit, out / "study" / "audit.csv"):
        path.unlink()
    again = run_plan(study / "plan.toml", out, cache=models, report=True)
    after = _snapshot(out)
    assert {k: v[0] for k, v in after.items() if not k.startswith("cache/") and k != "run.json"} == \
        {k: v[0] for k, v in before.items() if not k.startswith("cache/") and k != "run.json"}
    assert again.statuses["arm_os"]["fits"][fit.stem]["status"] == "fitted"  # refitted: same seed, same bytes
    assert not again.statuses["arm_os"].get("reused") and again.statuses["afp_os"]["reused"]


def test_every_input_of_a_run_changes_its_digest(study, tmp_path):
    plan = load_plan(study / "plan.toml")
    s = load_study(study)
    base = run_digest(plan, s, s.cohort_path, False)
    assert run_digest(plan, s, s.cohort_path, False) == base  # deterministic
    assert run_digest(plan, s, s.cohort_path, True) != base  # quick
    cohort = s.cohort_path.read_text(encoding="utf-8")
    s.cohort_path.write_text(cohort.replace(",", ", ", 1), encoding="utf-8")  # one byte more in the cohort
    assert run_digest(plan, s, s.cohort_path, False) != base
    s.cohort_path.write_text(cohort, encoding="utf-8")
    (study / "published.toml").write_text((study / "published.toml").read_text(encoding="utf-8") + "\n",
                                          encoding="utf-8")
    assert run_digest(plan, s, s.cohort_path, False) != base  # any file of the study folder
    plan2 = load_plan(study / "plan.toml")
    (study / "plan.toml").write_text(MINI_PLAN.replace("seed = 7", "seed = 8"), encoding="utf-8")
    assert run_digest(load_plan(study / "plan.toml"), s, s.cohort_path, False) != \
        run_digest(plan2, s, s.cohort_path, False)  # the plan's settings (its analyses key each analysis)


def test_a_run_inside_the_study_folder_is_not_part_of_the_study(study, tmp_path, models):
    """A user running from the study folder (``--out runs/x``) keeps the run out of the study's digest: the
    re-run reuses everything (the run's own outputs would otherwise change the key every time)."""
    out = study / "runs" / "mine"
    run_plan(study / "plan.toml", out, cache=models)
    s = load_study(study)
    assert not any("runs" in p.relative_to(study).parts for p in study_files(study))
    assert {p.name for p in study_files(study)} == {"study.toml", "published.toml", "cohort.csv"}
    again = run_plan(study / "plan.toml", out, cache=models)
    assert all(st["reused"] for st in again.statuses.values()) and s.folder == study.resolve()


def test_code_digest_sees_a_changed_source_file(tmp_path, monkeypatch):
    pkg = tmp_path / "memo_probe_pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("X = 1\n", encoding="utf-8")
    (pkg / "mod.py").write_text("Y = 2\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    monkeypatch.setattr(memo, "PACKAGES", ("memo_probe_pkg",))
    first = memo.code_digest.__wrapped__()
    (pkg / "mod.py").write_text("Y = 3\n", encoding="utf-8")
    assert memo.code_digest.__wrapped__() != first
    (pkg / "mod.py").write_text("Y = 2\n", encoding="utf-8")
    assert memo.code_digest.__wrapped__() == first
    sys.modules.pop("memo_probe_pkg", None)


def test_frame_json_round_trip_is_exact():
    rng = np.random.default_rng(19)
    x = rng.standard_normal(50) * 10.0 ** rng.integers(-300, 300, 50)  # doubles over the whole exponent range
    x[:4] = [np.nan, np.inf, -np.inf, -0.0]
    frame = pd.DataFrame({"x": x, "n": rng.integers(-5, 5, 50), "ok": rng.random(50) > 0.5,
                          "label": [f"g{i}" if i % 3 else "" for i in range(50)]})
    text = memo.dumps(memo.frame_to_json(frame))
    back = memo.frame_from_json(__import__("json").loads(text))
    pd.testing.assert_frame_equal(back, frame, check_exact=True)
    assert np.array_equal(back["x"].to_numpy().view(np.int64), frame["x"].to_numpy().view(np.int64))  # every bit
    assert back.to_csv(index=False) == frame.to_csv(index=False)


def test_memo_store_misses_on_another_key(tmp_path):
    store = memo.MemoStore(tmp_path / "cache", defer=True)
    store.put("a/b", "k1", {"v": [1.5, float("nan")]})
    assert not (tmp_path / "cache").exists()  # deferred: nothing written before flush
    store.flush()
    assert store.get("a/b", "k1")["v"][0] == 1.5 and store.get("a/b", "k2") is None
    assert (store.hits, store.misses) == (1, 1)
    shutil.rmtree(tmp_path / "cache")
    assert store.get("a/b", "k1") is None
    assert hccbayes.__version__  # the package imports
