"""``hccbayes sbc MODEL --n-sims N [--jobs N | --scheduler ADDRESS] [--out DIR] [--seed S] [--target-accept A]``.

Simulation-based calibration of a model (every survival family — weibull, pem, ... —, regimen,
beta_binomial, or all): writes ranks.csv,
summary.csv, summary.md, hist.csv, ecdf.csv and <model>_ranks.png / <model>_ecdf.png into DIR (see
:mod:`hccbayes.inference.checks.sbc`). Re-running into the same DIR reuses finished simulations. Exit codes:
0 every parameter passes; 1 some parameter is rejected (Holm, alpha); 2 a usage error (unknown model,
dask not installed, scheduler unreachable).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "sbc", help="simulation-based calibration of a model (rank uniformity tests and plots)",
        description="Draw parameters from the model's priors, simulate data, fit, and test that the rank of "
        "each true parameter among L thinned posterior draws is uniform (Talts et al. 2018).")
    p.add_argument("model", help="model to calibrate: a survival family (weibull, pem, ...), regimen, beta_binomial "
                   "or all")
    p.add_argument("--n-sims", type=int, required=True, help="simulations per model")
    p.add_argument("--jobs", type=int, default=None, help="local worker processes (default: run inline)")
    p.add_argument("--scheduler", default=None, help="Dask scheduler address, e.g. tcp://127.0.0.1:8786")
    p.add_argument("--out", default="sbc", help="output directory (default: ./sbc)")
    p.add_argument("--seed", type=int, default=0, help="run seed (each simulation's seed derives from it)")
    p.add_argument("--draws", type=int, default=1000, help="posterior draws per chain")
    p.add_argument("--tune", type=int, default=1000, help="tuning steps per chain")
    p.add_argument("--chains", type=int, default=2)
    p.add_argument("--target-accept", type=float, default=0.9,
                   help="NUTS target acceptance of every fit (default 0.9; the flagship study's plan fits its regimen "
                   "analyses at 0.99)")
    p.add_argument("--rank-draws", type=int, default=99, help="L: thinned posterior draws ranked against")
    p.add_argument("--alpha", type=float, default=0.01, help="family-wise level of the Holm decision")
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    from hccbayes.errors import HccbayesError
    from hccbayes.inference.checks.sbc import run_sbc
    from hccbayes.inference.checks.sbc_models import MODEL_NAMES, SBCSettings
    from hccbayes.inference.engine.executors import make_executor
    from hccbayes.reports.sbc_figures import write_figures

    if args.model not in (*MODEL_NAMES, "all"):
        raise HccbayesError(f"unknown SBC model {args.model!r}; use one of {', '.join(MODEL_NAMES)} or all")
    if args.n_sims < 2:
        raise HccbayesError(f"--n-sims must be at least 2, got {args.n_sims}")
    try:
        settings = SBCSettings(draws=args.draws, tune=args.tune, chains=args.chains, rank_draws=args.rank_draws,
                                target_accept=args.target_accept)
    except ValueError as err:
        raise HccbayesError(f"sampler options: {err}") from None
    models = list(MODEL_NAMES) if args.model == "all" else [args.model]
    executor = make_executor(args.jobs, args.scheduler)
    try:
        result = run_sbc(models, args.n_sims, executor, args.out, seed=args.seed, settings=settings,
                         alpha=args.alpha)
    finally:
        getattr(executor, "close", lambda: None)()
    result.files += write_figures(result.hist, result.ecdf, Path(args.out))
    for model, sub in result.summary.groupby("model", sort=False):
        bad = sub.loc[sub["rejected"], "parameter"].tolist()
        print(f"{model}: {'PASS' if not bad else 'FAIL (' + ', '.join(bad) + ')'} "
              f"({len(sub)} parameters, {sub['n_sims'].iloc[0]} simulations)")
    print(f"{result.computed} simulations run, {result.skipped} reused, {result.seconds:.1f} s; "
          f"outputs in {args.out}", file=sys.stderr if not result.passed else sys.stdout)
    return 0 if result.passed else 1
