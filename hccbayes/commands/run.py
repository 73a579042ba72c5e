"""``hccbayes run PLAN --out DIR [--quick] [--strict] [--force] [--jobs N | --scheduler ADDRESS]
[--no-report]``: run an analysis plan.

Writes ``comparisons.csv``, ``fits/*.nc``, ``checks/``, ``tipping/``, ``curves.csv``, ``km.csv``, ``study/``
and ``run.json`` into DIR (see :mod:`hccbayes.inference.engine.run`), then the report (``DIR/report/report.html``, unless ``--no-report``),
and prints where they are (the last line). Exit codes: 0 done; 1 ``--strict`` and a
fit failed the diagnostics gate (outputs are still written); 2 a bad plan, study, cohort or output
directory (one message, no traceback).

The survival fits run in local worker processes by default, one per core (at most 4; inline on a one-core
machine), grouped by model structure so each structure is compiled by one worker; ``--jobs 1`` fits them
one after another in this process. Either way the table and the fit files are the same bytes.
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
    parser.add_argument("--no-report", action="store_true",
                        help="skip the report (build it later with 'hccbayes report DIR')")
    add_executor_options(parser, auto_jobs=True)


def add_executor_options(parser: argparse.ArgumentParser, auto_jobs: bool = False) -> None:
    """--jobs / --scheduler. ``auto_jobs``: without either, fit in local worker processes, one per core (at
    most 4; inline on a one-core machine) — the run commands; otherwise the default is inline."""
    default = ("default: one per core, at most 4, grouped by model structure so each is compiled once; "
               "--jobs 1 fits one after another in this process" if auto_jobs else "default: one after another")
    parser.add_argument("--jobs", type=int, default=None, metavar="N",
                        help=f"run the survival fits in N local worker processes ({default}); the same "
                        "table and fit files either way")
    parser.set_defaults(auto_jobs=auto_jobs)
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="run the survival fits on a Dask cluster (e.g. tcp://host:8786); workers need "
                        "hccbayes installed")


def executor_from(args: argparse.Namespace):
    """The executor of --jobs / --scheduler, or None for inline fitting (no pool at all). Without either, the
    run commands (``auto_jobs``) use :func:`~hccbayes.inference.engine.executors.default_jobs` processes."""
    from hccbayes.inference.engine.executors import default_jobs, make_executor

    jobs = args.jobs
    if jobs is None and args.scheduler is None and getattr(args, "auto_jobs", False):
        jobs = default_jobs()
    if args.scheduler is None and jobs in (None, 1):
        return None
    return make_executor(jobs, args.scheduler)


def close(executor) -> None:
    if executor is not None and hasattr(executor, "close"):
        executor.close()


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
    n_analyses = len(result.statuses)
    print(f"{len(result.table)} comparison rows from {n_analyses} {'analysis' if n_analyses == 1 else 'analyses'}, "
          f"{n_fits} {'fit' if n_fits == 1 else 'fits'} ({cached} from cache) in {result.seconds:.1f} s")
    report = f", report: {result.report}" if result.report is not None else ""
    print(f"outputs in {result.run_dir}: comparisons.csv, run.json, fits/, checks/{report}")
    return 0


def execute(call, args: argparse.Namespace) -> int:
    from hccbayes.api import DiagnosticsFailed

    executor = executor_from(args)
    try:
        result = call(executor=executor, report=not args.no_report)
    except DiagnosticsFailed as err:
        report(err.result)
        print(f"hccbayes {args.command}: --strict: {err}", file=sys.stderr)
        return 1
    finally:
        close(executor)
    return report(result)


def run(args: argparse.Namespace) -> int:
    from hccbayes.api import run_plan

    return execute(lambda **kw: run_plan(args.plan, args.out, quick=args.quick, strict=args.strict,
                                         force=args.force, **kw), args)
