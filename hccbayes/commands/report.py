"""``hccbayes report RUN_DIR [--out DIR]``: rebuild the report of a finished run without refitting.

Reads the run folder alone (comparisons.csv, run.json, fits/*.nc attrs, curves.csv, km.csv, study/,
checks/, tipping/: :mod:`hccbayes.reports.rundir`), not the study folder; writes report.md, report.html (self-contained),
tables/*.csv|tex and figures/*.png|svg under RUN_DIR/report (or --out). Exit code 0 when written; 2
(via :func:`hccbayes.cli.main`) when the run directory cannot be read.
"""
from __future__ import annotations

import argparse
import sys

from hccbayes.reports.build import build_report


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "report",
        help="rebuild the report (Markdown, HTML, tables, figures) of a finished run",
        description="Rebuild report.md, report.html, tables/ and figures/ from a finished run directory "
        "(comparisons.csv, run.json, fits/*.nc, curves.csv, km.csv, study/, checks/, tipping/) without "
        "refitting or recomputing anything.",
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", help="run directory written by 'hccbayes reproduce/run'")
    parser.add_argument("--out", default=None, help="output folder (default: RUN_DIR/report)")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    paths = build_report(args.run_dir, args.out)
    print(f"report written: {paths['html']} and {paths['markdown']} "
          f"({len(paths['tables'])} table files, {len(paths['figures'])} figure files)", file=sys.stdout)
    return 0
