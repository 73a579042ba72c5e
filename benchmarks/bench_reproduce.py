"""Benchmark: the run engine (compile once per model structure, nutpie) against a naive loop (a fresh
``pm.Model`` and ``pm.sample`` with PyMC's default settings for every analysis), measured side by side in
one process on the same survival analyses of the yin2025 plan, under the default prior set.

Subset (stated, nothing extrapolated): ``--n`` survival fits spread evenly over the bundled plan's
survival analyses (every k-th analysis in plan order, so the mix of arm, regimen, AFP, univariable and
multivariable models follows the plan's). Printed:

* naive loop: fresh model + ``pm.sample()`` (PyMC defaults: 1000 tune, 1000 draws, chains = cores);
* engine, cold: ``run_plan`` into an empty directory with a new ModelCache (includes every compile),
  producing every table row of the analyses (published, Cox/KM, Bayesian quantities) but not the
  model checks, which the naive loop has no counterpart of (timed separately below);
* engine, warm ModelCache: the same analyses into another empty directory, models already compiled
  (the situation of every analysis after the first of its structure in a full reproduce);
* warm re-run: the same plan into the first directory again — every fit from the NetCDF cache;
* ratios naive / engine.

Usage: ``python benchmarks/bench_reproduce.py [--n 12]``
"""
from __future__ import annotations

import argparse
import logging
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import pymc as pm

from hccbayes.data.cohort import load_cohort
from hccbayes.data.study import STUDIES_DIR, load_study
from hccbayes.inference.engine.plan import load_plan
from hccbayes.inference.engine.rows_survival import spec_for
from hccbayes.inference.engine.run import run_plan
from hccbayes.inference.fitting.fit import ModelCache
from hccbayes.models.priors.sets import prior_set
from hccbayes.models.survival.design import survival_data
from hccbayes.models.survival.families import family


def subset_plan(n: int):
    """``n`` survival fits spread evenly over the plan's survival analyses (a stratified, representative
    subset: the plan is mostly univariable Table 4/5 rows, plus arm, regimen, AFP and multivariable
    models), default prior set only."""
    plan = load_plan(STUDIES_DIR / "yin2025" / "plan.toml")
    survival = [a for a in plan.analyses if a.kind == "survival"]
    step = max(1, len(survival) // n)
    chosen, fits = [], 0
    for a in survival[::step]:
        if fits >= n:
            break
        a = replace(a, prior_sets=("weakly_informative",), models=a.models[: n - fits])
        chosen.append(a)
        fits += len(a.models)
    return replace(plan, analyses=tuple(chosen)), fits


def naive(plan) -> float:
    study = load_study(plan.study)
    df = load_cohort(study.cohort_path, study)
    t0 = time.perf_counter()
    for i, a in enumerate(plan.analyses):
        for model in a.models:
            spec = spec_for(a, model)
            data = survival_data(df, study, spec)
            with family(model).build(data, prior_set("weakly_informative"), spec):
                pm.sample(random_seed=i, progressbar=False)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=12, help="number of survival fits in the subset")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    plan, n_fits = subset_plan(args.n)
    print(f"subset: {n_fits} survival fits, analyses {', '.join(a.id for a in plan.analyses)}; "
          "prior set weakly_informative; sampler 1000 tune / 1000 draws")
    with tempfile.TemporaryDirectory() as tmp:
        cache = ModelCache()
        t0 = time.perf_counter()
        run_plan(plan, Path(tmp) / "cold", cache=cache, checks=False)
        cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        run_plan(plan, Path(tmp) / "warm_cache", cache=cache, checks=False)
        warm_cache = time.perf_counter() - t0
        t0 = time.perf_counter()
        run_plan(plan, Path(tmp) / "warm_checks", cache=cache, checks=True)
        warm_checks = time.perf_counter() - t0
        t0 = time.perf_counter()
        rerun = run_plan(plan, Path(tmp) / "cold", cache=cache, checks=False)
        rerun_s = time.perf_counter() - t0
        cached = sum(f["status"] == "cached" for s in rerun.statuses.values() for f in s["fits"].values())
        naive_s = naive(plan)
    print(f"naive loop (fresh pm.Model + pm.sample defaults): {naive_s:8.1f} s")
    print(f"engine, cold (new ModelCache, {cache.compiles} compiles):   {cold:8.1f} s   naive/engine = {naive_s / cold:.1f}x")
    print(f"engine, warm ModelCache (compile-once):         {warm_cache:8.1f} s   naive/engine = {naive_s / warm_cache:.1f}x")
    print(f"  the same with the model checks (LOO, PPC, psense, prior predictive), which the naive loop "
          f"does not make: {warm_checks:.1f} s   naive/engine = {naive_s / warm_checks:.1f}x")
    print(f"warm re-run (every fit from cache, {cached}/{n_fits}):      {rerun_s:8.1f} s")
    print(f"RESULT naive loop / reproduce (warm ModelCache), {n_fits} fits: {naive_s / warm_cache:.1f}x (target >= 10)")
    print(f"RESULT naive loop / reproduce (cold, with compiles), {n_fits} fits: {naive_s / cold:.1f}x")
    print(f"RESULT warm re-run, {n_fits} fits from cache: {rerun_s:.1f} s")


if __name__ == "__main__":
    main()
