"""``hccbayes run PLAN --out DIR [--quick] [--strict] [--force]``: run an analysis plan.

Writes ``comparisons.csv``, ``fits/*.nc`` and ``run.json`` into DIR (see
:mod:`hccbayes.inference.engine`) and prints where they are. Exit codes: 0 done; 1 ``--strict`` and a
fit failed the diagnostics gate (outputs are still written); 2 a bad plan, study, cohort or output
directory (one message, no traceback).
"""
from __future__ import annotations

import argparse
import sys


def add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true",
                        help="fewer draws (the plan's quick sampler, e.g. 500/500, 2 chains) and only the "
                        "default prior set; still every comparison's published, frequentist and Bayesian rows")
    parser.add_argument("--strict", action="store_true",
                        help="exit 1 when any fit fails the diagnostics gate (R-hat, ESS, divergences, E-BFMI)")
    parser.add_argument("--force", action="store_true",
                        help="write into a directory that holds a different run's outputs")


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "run", help="run an analysis plan (TOML) into an output directory",
        description="Run every analysis of a plan file: published, frequentist and Bayesian rows of each "
        "comparison into DIR/comparisons.csv, posteriors into DIR/fits/, provenance into DIR/run.json. "
        "Re-running the same plan into the same DIR reuses every valid cached fit.")
    p.add_argument("plan", help="plan .toml file (its study is named inside it)")
    p.add_argument("--out", required=True, help="output directory")
    add_common(p)
    p.set_defaults(run=run)
    return p


def report(result) -> int:
    n_fits = sum(len(s["fits"]) for s in result.statuses.values())
    cached = sum(f["status"] == "cached" for s in result.statuses.values() for f in s["fits"].values())
    if result.failed_fits:
        print(f"{len(result.failed_fits)} of {n_fits} fits failed the diagnostics gate (diagnostics_ok=False in "
              f"the table): {', '.join(result.failed_fits[:10])}{' ...' if len(result.failed_fits) > 10 else ''}",
              file=sys.stderr)
    print(f"{len(result.table)} comparison rows from {len(result.statuses)} analyses, {n_fits} fits "
          f"({cached} from cache) in {result.seconds:.1f} s")
    print(f"outputs in {result.run_dir}: comparisons.csv, run.json, fits/")
    return 0


def execute(call, args: argparse.Namespace) -> int:
    from hccbayes.inference.engine import DiagnosticsFailed

    try:
        result = call()
    except DiagnosticsFailed as err:
        report(err.result)
        print(f"hccbayes {args.command}: --strict: {err}", file=sys.stderr)
        return 1
    return report(result)


def run(args: argparse.Namespace) -> int:
    from hccbayes.inference.engine import run_plan

    return execute(lambda: run_plan(args.plan, args.out, quick=args.quick, strict=args.strict, force=args.force),
                   args)
