"""A 20-point prior grid on the arm PFS hazard ratio by reweighting vs by refitting, side by side in one run.

The fit: yin2025 arm_pfs, Weibull, the plan's seed, default sampler settings (4 chains x 1000 draws), weakly
informative set (the arm's log-HR ~ Normal(0, 1)); it is fitted once (with the compile) before either side is
timed. The grid: the arm's log-HR prior Normal(m, 0.5) with the prior-median HR exp(m) from 0.5 to 1.5 in 20
log-spaced steps. Reweighting: :class:`hccbayes.inference.sensitivity.explore.Explorer` (PSIS; a refit on the same
compiled model where k̂ > 0.7, included in its time). Refitting: each grid prior fitted through the diagnostics
gate on the same compiled model (warm, no compile), the seed of the base fit.

Printed: both times and their ratio; the largest |ΔP(HR < 1)| between the two and the same in Monte Carlo SEs
of the difference (√(MCSE_rw² + MCSE_refit²), each at least 1/draws: at P = 0 or 1 an indicator's MCSE is 0); the k̂ range and how many grid points fell back to a refit.
Then the command a user waits for, in a fresh process: ``python -m hccbayes explore RUN --analysis arm_pfs --prior
"normal(0,0.5)"`` timed ``--repeat`` times (default 5) as wall time of the whole process (interpreter start, imports,
the answer); RUN is ``--run`` (a finished run folder, e.g. of ``hccbayes reproduce``) or else a run folder written
here with the base fit alone (run.json and fits/arm_pfs__weibull__weakly_informative.nc, as the engine writes them).
Run: python benchmarks/bench_explore.py [--sd 0.2168] [--run RUN_DIR] [--repeat 5]
     (narrower priors: more grid points beyond k̂ 0.7)
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from hccbayes.atomic import write_text
from hccbayes.data import load_cohort, load_study
from hccbayes.inference.engine.plan import load_plan
from hccbayes.inference.engine.rows_survival import spec_for
from hccbayes.inference.fitting.cache import fit_inputs, store_fit
from hccbayes.inference.fitting.fit import ModelCache, SamplerSettings, fit
from hccbayes.inference.sensitivity.explore import explorer_of, log_hr_draws
from hccbayes.inference.sensitivity.explore_refit import Refitter
from hccbayes.inference.sensitivity.tipping import indicator_mcse
from hccbayes.models.priors.roles import default_roles, with_roles
from hccbayes.models.priors.sets import prior_set
from hccbayes.models.priors.term_prior import with_term_prior
from hccbayes.models.priors.values import Normal
from hccbayes.models.survival.design import survival_data

GRID = np.linspace(math.log(0.5), math.log(1.5), 20)
SD = 0.5
COMMAND = ["explore", "--analysis", "arm_pfs", "--prior", "normal(0,0.5)"]


def fresh_process(run: Path, repeat: int) -> None:
    """Wall time of ``hccbayes explore`` in a fresh process, ``repeat`` times; its answer printed once."""
    times, out = [], ""
    for _ in range(repeat):
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "hccbayes", COMMAND[0], str(run), *COMMAND[1:]],
                              capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            raise SystemExit(f"hccbayes explore failed: {proc.stderr.strip()}")
        out = proc.stdout
    print(f"fresh process: hccbayes {' '.join(COMMAND[:1] + [str(run)] + COMMAND[1:])}\n" +
          "".join(f"  | {line}\n" for line in out.splitlines()) +
          f"  wall times {', '.join(f'{t:.2f}' for t in times)} s")
    print(f"RESULT hccbayes explore in a fresh process (median of {repeat}): {statistics.median(times):.2f} s")


def write_run(folder: Path, plan, study, dt, data, priors, spec, settings) -> Path:
    """A run folder holding the base fit as the engine stores it (its key, hashed inputs and run.json)."""
    key = "arm_pfs__weibull__weakly_informative"
    (folder / "fits").mkdir(parents=True)
    store_fit(dt.copy(deep=True), folder / "fits" / f"{key}.nc", fit_inputs(data, priors, spec, settings, plan.seed),
              key, "arm_pfs", "")
    write_text(folder / "run.json", json.dumps({"plan": plan.to_dict(), "study_folder": str(study.folder),
                                                "cohort": str(study.cohort_path)}, default=str))
    return folder


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sd", type=float, default=SD, help=f"SD of the grid's log-HR priors (default {SD})")
    ap.add_argument("--run", type=Path, default=None, help="a finished run folder for the fresh-process timing "
                    "(default: one written here with the base fit)")
    ap.add_argument("--repeat", type=int, default=5, help="fresh-process runs of the command (default 5)")
    args = ap.parse_args()
    sd = args.sd
    plan = load_plan("data/studies/yin2025/plan.toml")
    study = load_study(plan.study)
    cohort = load_cohort(plan.cohort or study.cohort_path, study)
    spec = spec_for(plan.analysis("arm_pfs"), "weibull")
    data = survival_data(cohort, study, spec)
    priors = with_roles(prior_set("weakly_informative"), default_roles(study))
    settings, cache, term = SamplerSettings(), ModelCache(), spec.contrast_term
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f} at start")
    t0 = time.perf_counter()
    dt = fit(data, priors, spec, settings, seed=plan.seed, cache=cache)
    print(f"base fit (with the compile): {time.perf_counter() - t0:.1f} s; grid: log-HR prior Normal(m, {sd:g}) with "
          f"exp(m) = {math.exp(GRID[0]):.2f}..{math.exp(GRID[-1]):.2f}, {len(GRID)} points")

    refitter = Refitter(data, spec, settings, plan.seed, cache)
    explorer = explorer_of(dt, priors, term, thresholds=(1.0,), ci_prob=0.95, refit=refitter)
    t0 = time.perf_counter()
    reweighted = [explorer.at(Normal(float(m), sd)) for m in GRID]
    t_rw = time.perf_counter() - t0

    t0 = time.perf_counter()
    refits = [refitter(with_term_prior(priors, term, Normal(float(m), sd))) for m in GRID]
    t_refit = time.perf_counter() - t0

    rows = []
    for m, rw, ref_dt in zip(GRID, reweighted, refits, strict=True):
        lh = ref_dt["posterior"]["log_hr"].sel(term=term)
        p_ref = float((log_hr_draws(ref_dt, term) < 0).mean())
        diff = rw.summary.below[1.0] - p_ref
        floor = 1.0 / explorer.draws.size  # an MCSE of 0 at P = 0 or 1 says only that no draw crossed: floor it
        se = math.hypot(max(rw.summary.mcse[1.0], floor), max(indicator_mcse(lh < 0), floor))
        rows.append((m, rw, p_ref, diff, se))
        print(f"  exp(m) {math.exp(m):5.3f}: P(HR<1) reweighted {rw.summary.below[1.0]:.4f} (k̂ {rw.summary.khat:5.2f}, "
              f"{rw.method}) refitted {p_ref:.4f}  diff {diff:+.4f} ({diff / se:+.1f} MC SE)")
    worst = max(rows, key=lambda r: abs(r[3]))
    worst_z = max(abs(r[3] / r[4]) for r in rows)
    n_refit = sum(r[1].method == "refitted" for r in rows)
    khats = [r[1].summary.khat for r in rows]
    print(f"reweighting: {t_rw:.3f} s for {len(GRID)} points ({n_refit} refitted: k̂ > 0.7); k̂ from "
          f"{min(khats):.2f} to {max(khats):.2f}")
    print(f"refitting:   {t_refit:.2f} s for {len(GRID)} fits ({t_refit / len(GRID):.3f} s each, compiled model reused)")
    print(f"RESULT prior grid refitting / reweighting time: {t_refit / t_rw:.0f}x")
    print(f"RESULT largest |P(HR<1) reweighted - refitted|: {abs(worst[3]):.4f} (at exp(m) {math.exp(worst[0]):.3f}); "
          f"largest in MC SEs of the difference: {worst_z:.1f}")
    if args.run is not None:
        fresh_process(args.run, args.repeat)
        return
    with tempfile.TemporaryDirectory() as tmp:
        fresh_process(write_run(Path(tmp) / "run", plan, study, dt, data, priors, spec, settings), args.repeat)


if __name__ == "__main__":
    main()
