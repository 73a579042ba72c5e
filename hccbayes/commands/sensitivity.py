"""``hccbayes sensitivity PLAN --prior-sets a,b,... [--mcid 0.7,0.8] --out DIR [--jobs N | --scheduler ADDRESS]``:
prior-sensitivity grid.

Refits every survival analysis of the plan (or those named by ``--analyses``) under each prior set with
one compiled model per structure (:func:`hccbayes.inference.sensitivity.grid.sensitivity`), power-scales each
fit, and writes into DIR: ``sensitivity.csv`` (comparison-table rows, :mod:`hccbayes.inference.engine.table`),
``psense.csv`` (per-parameter power-scaling diagnoses) and ``fits/`` (cached, hashed posteriors that a
re-run reuses). Prints the HR grid. Custom prior sets declared in the plan (``[prior_sets.<name>]``) can
be named in ``--prior-sets``. Exit codes: 0 done; 2 a bad plan, prior set or output directory.
"""
from __future__ import annotations

import argparse
import sys


def _csv(kind):
    return lambda text: tuple(kind(x.strip()) for x in text.split(",") if x.strip())


def add_parser(subparsers) -> argparse.ArgumentParser:
    from hccbayes.commands.run import add_executor_options
    from hccbayes.models.priors.sets import PRIOR_SET_NAMES

    p = subparsers.add_parser(
        "sensitivity", help="refit survival analyses of a plan under a grid of prior sets",
        description="Prior-sensitivity grid of a plan's survival analyses: HR, P(HR<1), P(HR<mcid), "
        "medians/RMST under each prior set, with power-scaling diagnoses, into DIR/sensitivity.csv.")
    p.add_argument("plan", help="plan .toml file")
    p.add_argument("--prior-sets", type=_csv(str), default=PRIOR_SET_NAMES,
                   help=f"comma-separated prior sets (named: {','.join(PRIOR_SET_NAMES)}; or custom sets of "
                   "the plan)")
    p.add_argument("--mcid", type=_csv(float), default=None,
                   help="comma-separated clinically important HRs (default: each analysis's mcid, 0.7)")
    p.add_argument("--analyses", type=_csv(str), default=None, help="comma-separated analysis ids (default: all "
                   "survival analyses)")
    p.add_argument("--models", type=_csv(str), default=None, help="restrict to these survival models (weibull, pem, ...)")
    p.add_argument("--quick", action="store_true", help="the plan's quick sampler settings")
    p.add_argument("--out", required=True, help="output directory")
    add_executor_options(p)
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace
    from pathlib import Path

    from hccbayes.commands.run import close, executor_from
    from hccbayes.data.cohort import load_cohort
    from hccbayes.data.study import load_study
    from hccbayes.errors import PlanError, Problem
    from hccbayes.inference.engine.plan import load_plan
    from hccbayes.inference.engine.table import write_table
    from hccbayes.inference.fitting.fit import SamplerSettings
    from hccbayes.inference.sensitivity.grid import hr_grid, sensitivity
    from hccbayes.models.priors.roles import default_roles
    from hccbayes.models.priors.sets import DEFAULT_MCID, resolve_prior_set

    plan = load_plan(args.plan)
    custom = dict(plan.custom_prior_sets)
    for name in args.prior_sets:
        try:
            resolve_prior_set(name, custom=custom)
        except KeyError as err:
            raise PlanError(Problem(args.plan, f"--prior-sets: {err.args[0]}",
                                    "name a prior set of the five or one declared under [prior_sets]")) from None
    ids = args.analyses or [a.id for a in plan.analyses if a.kind == "survival"]
    try:
        analyses = [plan.analysis(i) for i in ids]
    except KeyError as err:
        raise PlanError(Problem(args.plan, f"--analyses: no analysis {err.args[0]!r}",
                                f"use ids of the plan: {', '.join(a.id for a in plan.analyses)}")) from None
    study = load_study(plan.study)
    cohort = load_cohort(plan.cohort or study.cohort_path, study)
    settings = replace(SamplerSettings(), **dict(plan.quick_sampler)) if args.quick else None
    mcids = args.mcid or (analyses[0].mcid if analyses else DEFAULT_MCID,)
    out = Path(args.out)
    (out / "fits").mkdir(parents=True, exist_ok=True)
    executor = executor_from(args)
    try:
        result = sensitivity(analyses, args.prior_sets, mcids, study=study, cohort=cohort, seed=plan.seed,
                             custom=custom, models=args.models, settings=settings, fits_dir=out / "fits",
                             executor=executor, roles=plan.roles or default_roles(study))
    finally:
        close(executor)
    write_table(result.table, out / "sensitivity.csv")
    result.psense.to_csv(out / "psense.csv", index=False)
    with_pd_options(lambda: print(hr_grid(result.table, study=study).to_string(index=False, float_format="%.3f")))
    print(f"{len(result.fits)} fits, {result.compiles} compile(s), {result.seconds:.1f} s; outputs in {out}: "
          "sensitivity.csv, psense.csv, fits/", file=sys.stdout)
    return 0


def with_pd_options(call) -> None:
    import pandas as pd

    with pd.option_context("display.width", 200, "display.max_columns", 20):
        call()
