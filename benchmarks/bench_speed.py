"""The cold path of a full reproduce against its fits, measured side by side in one run (issue 19).

Printed, with the machine (lscpu model name, cores) and the load average at the start:

(b) cold: ``hccbayes reproduce --study yin2025`` into an empty folder, in a fresh process (nothing compiled:
    nutpie's compiled models live in the process), with the command's defaults (local worker processes,
    the report) — wall time;
(c) warm: the same command again into the same folder (every fit cached) — wall time; then every file of
    the folder is hashed before and after and any file that differs is listed (run.json records timings, so
    it differs until the run's other products are cached by content too);
(a) one warm fit of the median analysis: the run's survival fits (the engine's own fit jobs) grouped by
    model structure; for the first fit of each structure (plan order) the model is compiled, then seven
    ``fit`` calls (sampling, pointwise log-likelihood, log prior, diagnostics; compiled model warm) are timed
    and their median kept; each of the run's fits is given its structure's time and the median over all
    fits is "the warm fit of the median analysis" (its structure and analysis are named);
(d) overhead factor = cold / (number of fits × that warm fit), cold seconds, warm seconds.

Usage: ``python benchmarks/bench_speed.py [--quick] [--no-report] [--keep DIR]``. ``--quick``: the quick
reproduce (fewer draws, default prior set only) for trying it out; ``--keep DIR``: run in DIR (must not
exist) and keep it. The full version takes about 3 minutes on 2 cores and needs them: run it on an idle
machine (load average below 1.5).
"""
from __future__ import annotations

import argparse
import hashlib
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hccbayes.data.cohort import load_cohort
from hccbayes.data.study import load_study
from hccbayes.inference.engine.plan import load_plan
from hccbayes.inference.engine.selection import resolve_selection
from hccbayes.inference.engine.survival_run import Context, analysis_frame, fit_jobs
from hccbayes.inference.fitting.fit import ModelCache, fit, fitted_structure

STUDY = "yin2025"
REPEATS = 7  # warm fits timed per structure (median): with 3 the same code gave 0.107-0.119 s


def machine() -> str:
    model = "unknown CPU"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        model = next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name"))
    except (OSError, subprocess.CalledProcessError, StopIteration):
        pass
    return f"{model}, {os.cpu_count()} cores, Python {sys.version.split()[0]}"


def hashes(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def reproduce(out: Path, quick: bool, report: bool) -> float:
    cmd = [sys.executable, "-m", "hccbayes", "reproduce", "--study", STUDY, "--out", str(out)]
    cmd += ["--quick"] * quick + ["--no-report"] * (not report)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    print(f"  {proc.stdout.strip().splitlines()[-2] if proc.stdout.strip() else ''}")
    return seconds


def engine_jobs(quick: bool) -> list:
    """The run's survival fit jobs, as the engine makes them (plan, cohort, resolved term selections)."""
    study = load_study(STUDY)
    plan = load_plan(study.plan_path)
    study = load_study(plan.study)
    df = load_cohort(plan.cohort or study.cohort_path, study)
    plan, _ = resolve_selection(plan, study, df, lambda d, a: analysis_frame(d, study, a))
    ctx = Context(plan, study, df, None, Path(tempfile.gettempdir()), quick, ModelCache(), None)
    return [job for a in plan.analyses if a.kind == "survival" for _, _, job in fit_jobs(ctx, a)]


def warm_fit_median(jobs: list) -> tuple[float, object, dict]:
    """(median warm fit seconds over the run's fits, the fit at that median, seconds per structure)."""
    first: dict = {}
    for job in jobs:
        first.setdefault(fitted_structure(job.data, job.spec), job)
    cache = ModelCache()
    per_structure: dict = {}
    for key, job in first.items():
        fit(job.data, job.priors, job.spec, job.settings, seed=job.seed, cache=cache)  # compile
        times = []
        for _ in range(REPEATS):
            t0 = time.perf_counter()
            fit(job.data, job.priors, job.spec, job.settings, seed=job.seed, cache=cache)
            times.append(time.perf_counter() - t0)
        per_structure[key] = statistics.median(times)
    order = sorted(jobs, key=lambda j: per_structure[fitted_structure(j.data, j.spec)])  # stable: plan order
    median_job = order[(len(order) - 1) // 2]  # the lower median: a time one fit really took
    return per_structure[fitted_structure(median_job.data, median_job.spec)], median_job, per_structure


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="the quick reproduce (for trying the benchmark out)")
    ap.add_argument("--no-report", action="store_true", help="reproduce without the report")
    ap.add_argument("--keep", type=Path, default=None, help="run folder to keep (must not exist)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.2f} at start")
    tmp = None
    if args.keep is not None:
        if args.keep.exists():
            sys.exit(f"--keep {args.keep}: exists; give a new folder")
        out = args.keep
    else:
        tmp = Path(tempfile.mkdtemp(prefix="bench_speed_"))
        out = tmp / "run"
    flags = " --quick" * args.quick + " --no-report" * args.no_report
    what = f"hccbayes reproduce --study {STUDY}{flags}"
    try:
        print(f"(b) cold: {what} into an empty folder (fresh process) ...")
        cold = reproduce(out, args.quick, not args.no_report)
        before = hashes(out)
        print("(c) warm: the same command again ...")
        warm = reproduce(out, args.quick, not args.no_report)
        after = hashes(out)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    differ = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    jobs = engine_jobs(args.quick)
    n_fits = len(jobs)
    print(f"(a) warm fits: {n_fits} fits in {len({fitted_structure(j.data, j.spec) for j in jobs})} model "
          f"structures; compiling each and timing {REPEATS} warm fits of its first fit ...")
    median, job, per_structure = warm_fit_median(jobs)
    spread = sorted(per_structure.values())
    print()
    print(f"machine: {machine()}")
    print(f"fits in the run: {n_fits} (files in fits/: {sum(k.startswith('fits/') for k in after)})")
    print(f"warm fit per structure: {spread[0]:.3f}-{spread[-1]:.3f} s; median analysis: {job.key} "
          f"({job.spec.model}, {job.data.n} patients, {len(job.data.terms)} terms; timed on its structure's "
          f"first fit): {median:.3f} s")
    print(f"cold reproduce: {cold:.1f} s   warm re-run: {warm:.1f} s")
    print(f"folder after the re-run: {len(after)} files, {len(differ)} differ"
          + (": " + ", ".join(differ[:20]) + (" ..." if len(differ) > 20 else "") if differ else " (byte-identical)"))
    print(f"RESULT overhead factor cold / ({n_fits} x {median:.3f} s) = {cold / (n_fits * median):.2f}")
    print(f"RESULT cold reproduce {cold:.1f} s; warm re-run {warm:.1f} s")


if __name__ == "__main__":
    main()
