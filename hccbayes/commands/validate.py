"""``hccbayes validate COHORT.csv [--study NAME_OR_PATH]``: check a cohort file against a study.

A valid file prints one summary line (patients per arm, events per endpoint) and exits 0. An invalid
file raises :class:`~hccbayes.errors.CohortError`; :func:`hccbayes.cli.main` prints every problem (file,
data row -- header excluded --, column, fix) on stderr and exits 2. Undeclared extra columns and
missing baseline covariates are logged as warnings and do not fail validation.
"""
from __future__ import annotations

import argparse
import sys

import pandas as pd

from hccbayes.data.cohort import load_cohort
from hccbayes.data.study import Study, default_study, load_study


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "validate",
        help="check a cohort CSV against a study's schema",
        description="Check a cohort CSV against a study definition and report every problem at once "
        "(rows are data rows, the header excluded). Exit code 0: valid; 2: problems found.",
    )
    parser.add_argument("cohort", nargs="?", default=None,
                        help="cohort CSV file (default: the study's own cohort.csv)")
    parser.add_argument("--study", default=default_study(),
                        help="bundled study name or path of a study folder (default: %(default)s)")
    parser.set_defaults(run=run)
    return parser


def summary(df: pd.DataFrame, study: Study) -> str:
    """One line: patients per arm and events per endpoint."""
    arms = df[study.arm_column].value_counts(sort=False)
    per_arm = ", ".join(f"{arm} {int(arms.get(arm, 0))}" for arm in df[study.arm_column].cat.categories)
    events = ", ".join(f"{e.name} {int(df[e.event].sum())} {e.event_label} events"
                       for e in study.endpoints)
    return f"{len(df)} patients ({per_arm}); {events}"


def run(args: argparse.Namespace) -> int:
    study = load_study(args.study)
    path = args.cohort if args.cohort is not None else study.cohort_path
    df = load_cohort(path, study)
    print(f"{path}: valid cohort for study '{study.name}': {summary(df, study)}", file=sys.stdout)
    return 0
