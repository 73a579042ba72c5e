"""Survival-model benchmarks, measured side by side in one run, printed as a table of ratios.

(a) a grid of ten prior settings (the five named sets × MCID 0.7 and 0.8) fitted through one compiled
    model (hccbayes' ModelCache + nutpie with_data) vs ten fresh fits (new model, new compile each);
    target: the grid costs at most 2× one fresh fit.
(b) PEM fit time (design arrays + sufficient statistics + sampling + result groups, compiled model warm)
    and peak memory at 70, 10,000 and 1,000,000 simulated patients, as ratios to the 70-patient fit
    (fitting cost only: the per-patient log-likelihood for LOO, an S x n array, is not stored here); target: 10^6 patients at most 3×
    the 70-patient time and under 2 GB. Peak memory is tracemalloc's peak of allocations made while
    preparing the data and fitting (numpy arrays included), not the interpreter's baseline.

Run:  python benchmarks/bench_survival.py [--quick]
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from hccbayes.inference.fitting.fit import ModelCache, SamplerSettings, fit  # noqa: E402
from hccbayes.models.priors.sets import PRIOR_SET_NAMES, prior_set  # noqa: E402
from hccbayes.models.survival.design import SurvivalSpec, survival_data  # noqa: E402
from hccbayes.models.survival.intervals import MAX_INTERVALS  # noqa: E402

from survival_sim import SimStudy, weibull_ph  # noqa: E402


def prior_grid(settings: SamplerSettings) -> dict:
    df = weibull_ph(70, [-0.6, 0.4, 0.3], 1.2, 0.08, seed=1)
    spec = SurvivalSpec("os", terms=("x1", "x2", "x3"), model="weibull")
    data = survival_data(df, SimStudy(), spec)
    grid = [prior_set(name, mcid) for mcid in (0.7, 0.8) for name in PRIOR_SET_NAMES]
    t0 = time.perf_counter()
    for i, ps in enumerate(grid):
        fit(data, ps, spec, settings, seed=i, cache=ModelCache())  # fresh cache: new model + compile
    fresh = time.perf_counter() - t0
    cache = ModelCache()
    t0 = time.perf_counter()
    ess_per_s = []
    for i, ps in enumerate(grid):
        dt = fit(data, ps, spec, settings, seed=i, cache=cache)
        diag = json.loads(dt.attrs["diagnostics"])
        ess_per_s.append(diag["min_ess_bulk"] / float(dt.attrs["sampling_seconds"]))
    reused = time.perf_counter() - t0
    return {"fits": len(grid), "fresh_total": fresh, "one_fresh_fit": fresh / len(grid), "grid_reused": reused,
            "compiles": cache.compiles, "ess_per_s": float(np.median(ess_per_s))}


def pem_scaling(settings: SamplerSettings, sizes: tuple[int, ...], n_intervals: int) -> list[dict]:
    """Fit time and peak memory of the PEM at each size, with ``n_intervals`` intervals at every size (one
    compiled model: the scaling in patients alone)."""
    spec = SurvivalSpec("os", terms=("x1", "x2", "x3"), model="pem", n_intervals=n_intervals)
    cache = ModelCache()
    warm = survival_data(weibull_ph(70, [-0.6, 0.4, 0.3], 1.2, 0.08, seed=2), SimStudy(), spec)
    fit(warm, prior_set("weakly_informative"), spec, settings, seed=0, cache=cache)  # compile once
    out = []
    for n in sizes:
        df = weibull_ph(n, [-0.6, 0.4, 0.3], 1.2, 0.08, seed=3)

        def run():
            data = survival_data(df, SimStudy(), spec)
            fit(data, prior_set("weakly_informative"), spec, settings, seed=1, cache=cache, pointwise=False)

        t0 = time.perf_counter()
        run()  # timed without tracemalloc, which slows allocation-heavy code
        seconds = time.perf_counter() - t0
        tracemalloc.start()
        run()  # the same work again, for its peak memory
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        out.append({"n": n, "seconds": seconds, "peak_mb": peak / 2**20})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer draws (for a smoke run)")
    args = parser.parse_args()
    settings = SamplerSettings(draws=300, tune=300, chains=2) if args.quick else SamplerSettings()
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, Python {platform.python_version()}; "
          f"sampler: {settings.chains} chains × {settings.draws} draws (+{settings.tune} tune)")
    g = prior_grid(settings)
    print("\n(a) prior grid: ten prior settings on one 70-patient Weibull model")
    print(f"  ten fresh fits (model + compile + sample each): {g['fresh_total']:8.2f} s  "
          f"(one fresh fit {g['one_fresh_fit']:.2f} s)")
    print(f"  ten fits through one compiled model:            {g['grid_reused']:8.2f} s  "
          f"({g['compiles']} compile)")
    print(f"  ratio fresh / reused: {g['fresh_total'] / g['grid_reused']:.1f}x;  grid / one fresh fit: "
          f"{g['grid_reused'] / g['one_fresh_fit']:.2f}  (target <= 2)")
    print(f"  Weibull sampling efficiency: median over the grid of min bulk ESS / sampling seconds = "
          f"{g['ess_per_s']:.0f} ESS/s")
    results = {}
    for J, why in ((6, "the fixed default of earlier versions"),
                   (MAX_INTERVALS, "the default for any cohort with >= 78 events, e.g. 10^6 patients")):
        rows = pem_scaling(settings, (70, 10_000, 1_000_000), J)
        base = rows[0]
        print(f"\n(b) PEM ({J} intervals: {why}; 3 binary covariates) on sufficient statistics, compiled model warm")
        print(f"  {'patients':>10} {'seconds':>9} {'x 70-pt':>8} {'peak MB':>9} {'x 70-pt':>8}")
        for r in rows:
            print(f"  {r['n']:>10,} {r['seconds']:>9.2f} {r['seconds'] / base['seconds']:>8.2f} {r['peak_mb']:>9.1f} "
                  f"{r['peak_mb'] / base['peak_mb']:>8.1f}")
        results[J] = (rows[-1]["seconds"] / base["seconds"], rows[-1]["peak_mb"])
    print("  targets: 1,000,000 patients <= 3x the 70-patient time and < 2048 MB")
    print(f"RESULT prior grid of 10 / one fresh fit: {g['grid_reused'] / g['one_fresh_fit']:.2f}x (target <= 2)")
    print(f"RESULT ten fresh fits / grid through one compile: {g['fresh_total'] / g['grid_reused']:.1f}x")
    for J, (ratio, peak) in results.items():
        print(f"RESULT PEM {J} intervals, 10^6 patients / 70 patients, time: {ratio:.2f}x (target <= 3)")
        print(f"RESULT PEM {J} intervals, 10^6 patients, peak memory: {peak:.0f} MB (target < 2048)")
    print(f"RESULT Weibull ESS per second (70 patients, 3 terms): {g['ess_per_s']:.0f}")


if __name__ == "__main__":
    main()
