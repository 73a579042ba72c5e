"""``hccbayes init COHORT.csv --out FOLDER --endpoint NAME:TIME:EVENT [...] [--arm COLUMN] [--reference-arm A]
[--id COLUMN] [--time-unit days|weeks|months|years]``: scaffold a study folder from a cohort CSV.

Writes FOLDER/study.toml (every column's type guessed and marked ``# REVIEW``), FOLDER/plan.toml (the arm
comparisons of every endpoint) and FOLDER/cohort.csv (:mod:`hccbayes.data.scaffold`), then validates the
cohort against the new study and prints what to review and the command that runs the plan.
"""
from __future__ import annotations

import argparse

from hccbayes.data.scaffold import TIME_UNITS


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "init", help="scaffold a study folder (study.toml, plan.toml) from a cohort CSV",
        description="Make a study folder from a cohort CSV and the names of its time, event and arm columns: "
        "study.toml with each column's type guessed and marked REVIEW, a starter plan.toml and cohort.csv.")
    p.add_argument("cohort", help="the cohort CSV (one row per patient, a header line)")
    p.add_argument("--out", required=True, help="the new study folder (must not exist or be empty)")
    p.add_argument("--endpoint", action="append", required=True, metavar="NAME:TIME:EVENT",
                   help="an endpoint's name and its time and event (1 = event, 0 = censored) columns; "
                   "repeat for more endpoints, e.g. --endpoint os:os_days:death")
    p.add_argument("--arm", help="the treatment-arm column (leave out for a single-arm or biomarker-only cohort: "
                   "the starter plan then says which covariate analyses to add)")
    p.add_argument("--reference-arm", help="the control arm (default: the most frequent arm, marked REVIEW)")
    p.add_argument("--id", dest="id_column", help="the patient-id column (default: a column named id, else "
                   "row numbers are added)")
    p.add_argument("--time-unit", default="days", choices=TIME_UNITS, help="unit of the time columns "
                   "(default: %(default)s)")
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    from hccbayes.data.cohort import load_cohort
    from hccbayes.data.scaffold import parse_endpoint, scaffold
    from hccbayes.data.study import load_study

    endpoints = [parse_endpoint(e) for e in args.endpoint]
    out = scaffold(args.cohort, args.out, endpoints, arm=args.arm, reference_arm=args.reference_arm,
                   id_column=args.id_column, time_unit=args.time_unit)
    study = load_study(out)
    df = load_cohort(study.cohort_path, study)
    review = sum("REVIEW" in line for line in (out / "study.toml").read_text(encoding="utf-8").splitlines())
    print(f"wrote {out}/study.toml, plan.toml and cohort.csv: {len(df)} patients, {len(study.columns)} "
          f"covariates, {len(study.factors)} factors; {review} guesses marked REVIEW in study.toml")
    if args.arm is None:
        print(f"next: check study.toml, add analyses of your covariates to {out}/plan.toml (no arm column was "
              f"named), then  hccbayes run {out}/plan.toml --out runs/{out.name}")
    else:
        print(f"next: check study.toml, then  hccbayes run {out}/plan.toml --out runs/{out.name}")
    return 0
