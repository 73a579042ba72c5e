"""The run engine end to end: reproduce --quick writes every comparison's published, frequentist and
Bayesian rows; same seed -> bit-identical posteriors and tables; the fit cache is reused, and refits
mismatched or corrupt files; kill -9 mid-run and re-run gives the uninterrupted result with no temporary
file left; output-directory guards; --strict exit codes; a user's study folder anywhere on disk.

Fits use --quick or smaller settings on purpose (speed); nothing here asserts a posterior value against
a reference (tests/test_survival_yin2025.py does), only the engine's contract.
"""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import hccbayes
from hccbayes.data.published.registry import load_registry
from hccbayes.data.study import STUDIES_DIR
from hccbayes.errors import HccbayesError
from hccbayes.inference.engine.links import required_entries
from hccbayes.inference.engine.table import read_table, validate_table
from hccbayes.inference.fitting.fit import ModelCache

from cross_process import assert_same_table
from plans import MINI_PLAN


@pytest.fixture(scope="module")
def cache():
    return ModelCache()  # one compile per model structure across this module's in-process runs


@pytest.fixture
def user_study(user_study_with_plan):
    """A copy of yin2025 somewhere else on disk, with its own small plan."""
    return user_study_with_plan(MINI_PLAN)


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "hccbayes", *args], capture_output=True, text=True, cwd=cwd)


def _posteriors(run_dir):
    out = {}
    for path in sorted((run_dir / "fits").glob("*.nc")):
        with xr.open_dataset(path, group="posterior", engine="h5netcdf") as ds:
            out[path.name] = {k: ds[k].values.copy() for k in ds.data_vars}
    return out


def _leftovers(run_dir):
    return [p.name for p in run_dir.rglob("*") if ".tmp" in p.name]


def test_reproduce_quick_covers_every_comparison(tmp_path, cache):
    t0 = time.perf_counter()
    result = hccbayes.reproduce("yin2025", out=tmp_path / "run", quick=True, cache=cache)
    print(f"full quick reproduce: {time.perf_counter() - t0:.1f} s")  # measured in the test log
    table = result.table
    assert validate_table(table) == []
    assert read_table(tmp_path / "run" / "comparisons.csv").shape == table.shape
    plan = hccbayes.load_plan(STUDIES_DIR / "yin2025" / "plan.toml")
    analyses = {a.id for a in plan.analyses}
    for a in plan.analyses:  # every analysis: published (but a landmark analysis), frequentist and Bayesian rows
        aid = a.id
        sources = set(table.loc[table["analysis"] == aid, "source"])
        assert ("published" in sources) == (a.from_landmark is None) and "frequentist" in sources, aid
        assert any(s.startswith("bayes:") for s in sources), aid
    linked = {i for ids in table.loc[table["source"] == "published", "registry_id"] for i in ids.split(";")}
    missing = set(required_entries(load_registry("yin2025"))) - linked
    assert not missing, sorted(missing)[:10]
    bayes = table[table["source"].str.startswith("bayes:")]
    assert set(bayes["prior_set"]) == {"weakly_informative"}  # quick: the default prior set only
    mcmc = bayes[bayes["model"].isin(["pem", "weibull"])]
    assert mcmc["cohort_based"].all() and mcmc["diagnostics_ok"].notna().all()
    assert not table.loc[table["model"] == "summary_normal", "cohort_based"].any()
    for q in ("hr", "median", "median_diff", "rmst", "rmst_diff"):
        assert q in set(mcmc.loc[mcmc["analysis"] == "arm_pfs", "quantity"]), q
    assert set(mcmc.loc[mcmc["analysis"] == "regimen_os"].query("quantity == 'median'")["group"]) == {
        "REG", "SOR", "REG-ICI", "SOR-ICI", "Oth-ICI"}
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["status"] == "complete" and run["uncovered_registry_entries"] == []
    assert set(run["analyses"]) == analyses and run["versions"]["pymc"]
    assert len(list((tmp_path / "run" / "fits").glob("*.nc"))) == sum(len(s["fits"]) for s in run["analyses"].values())
    # issue 7: LOO of Weibull vs PEM for every survival analysis (plan loo_models), with Pareto k
    survival = {a.id for a in hccbayes.load_plan(STUDIES_DIR / "yin2025" / "plan.toml").analyses
                if a.kind == "survival"}
    loo = pd.read_csv(tmp_path / "run" / "checks" / "loo.csv")
    assert {aid: set(g["model"]) for aid, g in loo.groupby("analysis")} == {aid: {"pem", "weibull"} for aid in survival}
    assert loo["elpd_diff"].notna().all() and loo["max_k"].notna().all()
    for name in ("ppc.csv", "prior_predictive.csv", "psense.csv"):
        assert (tmp_path / "run" / "checks" / name).is_file(), name
    assert set(pd.read_csv(tmp_path / "run" / "checks" / "ppc.csv")["analysis"]) == survival
    # tipping points of the primary comparisons (plan tipping_points = true): 0.95 and 0.5 per search kind
    tip = table[table["quantity"] == "tipping_point"]
    assert set(tip["analysis"]) == {"arm_pfs", "arm_os"}
    assert tip.groupby("analysis")["threshold"].apply(sorted).map(tuple).to_dict() == {
        "arm_pfs": (0.5, 0.5, 0.95, 0.95), "arm_os": (0.5, 0.5, 0.95, 0.95)}
    assert all((tmp_path / "run" / "tipping" / f"{a}.json").is_file() for a in ("arm_pfs", "arm_os"))


def test_same_seed_bit_identical_and_cache_reuse(user_study, tmp_path, cache, caplog):
    a = hccbayes.run_plan(user_study / "plan.toml", out=tmp_path / "a", cache=cache)
    b = hccbayes.run_plan(user_study / "plan.toml", out=tmp_path / "b", cache=cache)
    pa, pb = _posteriors(tmp_path / "a"), _posteriors(tmp_path / "b")
    assert pa.keys() == pb.keys() and len(pa) == 4
    for name in pa:
        for var in pa[name]:
            assert np.array_equal(pa[name][var], pb[name][var]), (name, var)  # exact, not approximate
    assert (tmp_path / "a" / "comparisons.csv").read_bytes() == (tmp_path / "b" / "comparisons.csv").read_bytes()
    assert a.table.equals(b.table)
    # re-run into the same directory: every fit from the cache, same table
    again = hccbayes.run_plan(user_study / "plan.toml", out=tmp_path / "a", cache=cache)
    assert all(f["status"] == "cached" for s in again.statuses.values() for f in s["fits"].values())
    assert again.statuses["arm_os"]["tipping"]["cached"] and not a.statuses["arm_os"]["tipping"]["cached"]
    # a tipping-point file that is not a search (valid JSON, wrong shape) is searched again, not a traceback
    tip = tmp_path / "a" / "tipping" / "arm_os.json"
    tip.write_text(json.dumps({**json.loads(tip.read_text()), "points": 3}), encoding="utf-8")  # same key
    third = hccbayes.run_plan(user_study / "plan.toml", out=tmp_path / "a", cache=cache)
    assert not third.statuses["arm_os"]["tipping"]["cached"] and third.table.equals(a.table)
    assert again.table.equals(a.table)
    # a tampered fit (attrs no longer hash to the stored key) and a truncated one are refitted, with warnings
    fits = sorted((tmp_path / "a" / "fits").glob("*.nc"))
    with xr.open_datatree(fits[0], engine="h5netcdf") as dt:
        tampered = dt.load().copy(deep=True)
    tampered.attrs["seed"] = 8
    tampered.to_netcdf(fits[0], engine="h5netcdf")
    fits[1].write_bytes(fits[1].read_bytes()[:5000])
    with caplog.at_level("WARNING", logger="hccbayes.inference.fitting.cache"):
        fixed = hccbayes.run_plan(user_study / "plan.toml", out=tmp_path / "a", cache=cache)
    assert "file altered" in caplog.text and "unreadable" in caplog.text
    statuses = {k: f["status"] for s in fixed.statuses.values() for k, f in s["fits"].items()}
    assert statuses[fits[0].stem] == statuses[fits[1].stem] == "fitted"
    assert fixed.table.equals(a.table)  # the refits are the same draws (same seed)
    assert _leftovers(tmp_path / "a") == []


def test_out_dir_guards(user_study, tmp_path, cache):
    out = tmp_path / "out"
    hccbayes.run_plan(user_study / "plan.toml", out=out, quick=True, cache=cache)
    other = user_study / "other.toml"
    other.write_text(MINI_PLAN.replace('name = "mini"', 'name = "other"'), encoding="utf-8")
    with pytest.raises(HccbayesError, match="different run"):
        hccbayes.run_plan(other, out=out, quick=True, cache=cache)
    hccbayes.run_plan(other, out=out, quick=True, force=True, cache=cache)
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "notes.txt").write_text("mine")
    proc = _cli("run", str(other), "--out", str(tmp_path / "junk"))
    assert proc.returncode == 2 and "holds no run.json" in proc.stderr and "Traceback" not in proc.stderr
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = _cli("run", str(other), "--out", str(blocker / "sub"))
    assert proc.returncode == 2 and "cannot write there" in proc.stderr and "Traceback" not in proc.stderr


def test_kill_9_then_rerun_matches_uninterrupted(user_study, tmp_path, cache):
    reference = hccbayes.run_plan(user_study / "plan.toml", out=tmp_path / "ref", cache=cache)
    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "hccbayes", "run", str(user_study / "plan.toml"), "--out",
                             str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while time.time() < deadline and not list((out / "fits").glob("*.nc")) and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "comparisons.csv").exists()
    proc = _cli("run", str(user_study / "plan.toml"), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    report = out.resolve() / "report" / "report.html"
    assert proc.stdout.strip().splitlines()[-1] == (f"outputs in {out.resolve()}: comparisons.csv, run.json, fits/, "
                                                    f"checks/, report: {report}")
    assert report.is_file() and (out / "checks" / "loo.csv").is_file()
    assert_same_table(out / "comparisons.csv", tmp_path / "ref" / "comparisons.csv")  # another process
    assert _leftovers(out) == []
    run = json.loads((out / "run.json").read_text())
    assert any(f["status"] == "cached" for s in run["analyses"].values() for f in s["fits"].values())
    assert reference.table.shape[0] == run["rows"]


def test_strict_exit_code_on_failed_diagnostics(user_study, tmp_path):
    """40 draws of 2 chains cannot reach bulk ESS 400: every fit fails the gate (diagnostics.py thresholds)."""
    plan = user_study / "tiny.toml"
    plan.write_text(MINI_PLAN.replace("draws = 300, tune = 300", "draws = 40, tune = 40")
                    .replace('["weakly_informative", "skeptical"]', '["weakly_informative"]'), encoding="utf-8")
    proc = _cli("run", str(plan), "--out", str(tmp_path / "strict"), "--strict")
    assert proc.returncode == 1, proc.stderr
    assert "failed the diagnostics gate" in proc.stderr and "arm_os__pem__weakly_informative" in proc.stderr
    table = read_table(tmp_path / "strict" / "comparisons.csv")
    mcmc = table[table["model"] == "pem"]
    assert len(mcmc) and not mcmc["diagnostics_ok"].any()
    assert mcmc["diagnostics"].str.contains("FAILED").all()


def test_custom_prior_set_of_the_plan_is_fitted(user_study, tmp_path, cache):
    """A [prior_sets.trial] table named by an analysis: its fit carries the declared prior (mu -0.2,
    sigma 0.3, exactly as written) and its rows the set's name."""
    plan = user_study / "custom.toml"
    text = MINI_PLAN.replace("draws = 300, tune = 300", "draws = 100, tune = 100")
    text = text.replace('strata = "arm"\n', 'strata = "arm"\nprior_sets = ["trial"]\n', 1)
    plan.write_text(text + '\n[prior_sets.trial]\ncontrast = { family = "normal", mu = -0.2, sigma = 0.3 }\n',
                    encoding="utf-8")
    result = hccbayes.run_plan(plan, out=tmp_path / "custom", cache=cache, checks=False)
    rows = result.table[result.table["analysis"] == "arm_os"]
    assert set(rows.loc[rows["source"].str.startswith("bayes:"), "prior_set"]) == {"trial"}
    with xr.open_datatree(tmp_path / "custom" / "fits" / "arm_os__pem__trial.nc", engine="h5netcdf") as dt:
        priors = json.loads(dt.attrs["priors"])
    assert priors["contrast"] == {"family": "normal", "mu": -0.2, "sigma": 0.3}
