"""``hccbayes ipd-from-km``: patient data from published Kaplan–Meier curves (Guyot et al. 2012).

Two forms::

    hccbayes ipd-from-km CURVES.csv --at-risk RISK.csv [--events EVENTS.csv] --out IPD.csv [--seed N]
    hccbayes ipd-from-km --study FOLDER [--out COHORT.csv] [--seed N]

The first writes ``group,time,event`` (one row per patient); the second writes a study's cohort file
from the curves its ``study.toml`` declares under ``[km_curves]`` (:mod:`hccbayes.data.reconstruction.kmipd.study_source`),
ready for ``hccbayes run``. Both print what was assumed or cleaned (e.g. survival read as percentages,
the censoring assumed after the last number at risk) and the fidelity table of the reconstruction
(:mod:`hccbayes.inference.frequentist.kmipd_fidelity`); ``--figure PATH`` also draws it (PNG, SVG or PDF by suffix).
Bad inputs exit 2 with one message per problem (file, row, column, fix).
"""
from __future__ import annotations

import argparse
import io
from pathlib import Path

import pandas as pd

from hccbayes.errors import InputError, Problem

FIGURE_SUFFIXES = (".png", ".svg", ".pdf")


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "ipd-from-km", help="reconstruct patient data from digitised Kaplan–Meier curves",
        description="Reconstruct one row per patient from digitised Kaplan–Meier curves, the numbers-at-risk "
        "table and (optionally) the total events per group, by Guyot et al.'s algorithm (BMC Med Res "
        "Methodol 2012;12:9), and print how faithfully the result reproduces the curves and the table.")
    p.add_argument("curves", nargs="?", help="digitised curves: CSV with columns group,time,survival")
    p.add_argument("--at-risk", help="numbers at risk: CSV with columns group,time,n_risk")
    p.add_argument("--events", help="optional total events: CSV with columns group,events")
    p.add_argument("--study", help="instead of files: a study folder whose study.toml declares [km_curves]; "
                   "writes its cohort file")
    p.add_argument("--out", help="output CSV (required with CURVES; with --study default: the study's cohort.csv)")
    p.add_argument("--seed", type=int, help="seed for exact half-way roundings (default 0, or the study's)")
    p.add_argument("--figure", help="also draw the check figure to this file (.png, .svg, .pdf)")
    p.set_defaults(run=run)
    return p


def _usage_problem(args: argparse.Namespace) -> Problem | None:
    if args.study and (args.curves or args.at_risk or args.events):
        return Problem("command line", "give either --study or the curve files, not both",
                       "drop --study, or drop CURVES/--at-risk/--events")
    if not args.study and not (args.curves and args.at_risk and args.out):
        return Problem("command line", "CURVES, --at-risk and --out are needed (or --study FOLDER)",
                       "hccbayes ipd-from-km curves.csv --at-risk at_risk.csv --out ipd.csv")
    if args.figure and Path(args.figure).suffix.lower() not in FIGURE_SUFFIXES:
        return Problem("command line", f"--figure {args.figure}: unknown figure format",
                       f"end the file name in {', '.join(FIGURE_SUFFIXES)}")
    return None


def _print(rec, table: pd.DataFrame) -> None:
    from hccbayes.inference.frequentist.kmipd_fidelity import summary_line

    for note in rec.notes:
        print(f"note: {note}")
    shown = table.assign(passed=table["passed"].map({True: "pass", False: "FAIL"})).drop(columns="source")
    with pd.option_context("display.max_rows", None, "display.width", 200, "display.max_colwidth", 50):
        print(shown.to_string(index=False))
    print(summary_line(table))


def run(args: argparse.Namespace) -> int:
    from hccbayes.data.reconstruction.kmipd import ipd_from_km, write_ipd
    from hccbayes.inference.frequentist.kmipd_fidelity import fidelity_table, figure_data

    problem = _usage_problem(args)
    if problem is not None:
        raise InputError(problem, summary="bad arguments")
    if args.study:
        from hccbayes.data.reconstruction.kmipd.study_source import cohort_as_ipd, write_study_cohort
        from hccbayes.data.study import load_study

        study = load_study(args.study)
        out, rec, cohort = write_study_cohort(study, args.out, args.seed)
        ipd, time_label = cohort_as_ipd(cohort, study), f"Time ({study.time_unit})"
    else:
        rec = ipd_from_km(args.curves, args.at_risk, args.events, seed=args.seed or 0)
        out, ipd, time_label = write_ipd(rec.ipd, args.out), rec.ipd, "Time"
    _print(rec, fidelity_table(rec, ipd))
    if args.figure:
        from hccbayes.atomic import write_bytes
        from hccbayes.reports.kmipd_figure import reconstruction_figure

        buf = io.BytesIO()
        fmt = Path(args.figure).suffix.lower().lstrip(".")
        reconstruction_figure(figure_data(rec, ipd), time_label).savefig(buf, format=fmt, dpi=110)
        print(f"figure: {write_bytes(args.figure, buf.getvalue())}")
    counts = ", ".join(f"{g} {len(s)} ({int(s['event'].sum())} events)" for g, s in ipd.groupby("group", sort=False))
    print(f"wrote {len(ipd)} patients to {out}: {counts}")
    return 0
