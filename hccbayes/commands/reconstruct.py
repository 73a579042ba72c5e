"""``hccbayes reconstruct``: rebuild a study's pseudo-patient cohort.csv from its published summaries,
or (``--check``, also spelled ``hccbayes fidelity``) print the fidelity table of a cohort file."""
from __future__ import annotations

import argparse
import time

import pandas as pd

from hccbayes.data.study import default_study
from hccbayes.errors import Problem, StudyError


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "reconstruct", aliases=["fidelity"],
        help="rebuild a study's pseudo-patient cohort.csv, or print its fidelity table (--check)",
        description="Reconstruct pseudo-patients from the published summaries (published.toml + "
        "reconstruction.toml), deterministically for a seed. With --check (or as `hccbayes fidelity`), "
        "recompute every target from a cohort file and print published vs reconstructed values.")
    p.add_argument("--study", default=default_study(), help="bundled study name or study folder (default: %(default)s)")
    p.add_argument("--out", help="where to write the cohort CSV (default: the study's cohort.csv)")
    p.add_argument("--seed", type=int, help="random seed (default: reconstruction.toml's seed)")
    p.add_argument("--check", action="store_true", help="print the fidelity table instead of reconstructing")
    p.add_argument("--cohort", help="with --check: the cohort CSV to check (default: the study's cohort.csv)")
    p.set_defaults(run=run)
    return p


def _print_table(table: pd.DataFrame) -> None:
    shown = table.assign(passed=table["passed"].map({True: "pass", False: "FAIL"}))
    with pd.option_context("display.max_rows", None, "display.max_columns", None, "display.width", 200,
                           "display.max_colwidth", 60):
        print(shown.to_string(index=False))


def _from_curves(study):
    """The fidelity check of a study whose cohort comes from digitised KM curves, else None."""
    from hccbayes.data.reconstruction.kmipd.study_source import curve_source
    from hccbayes.inference.frequentist.kmipd_fidelity import study_fidelity

    return study_fidelity if curve_source(study) is not None else None


def run(args: argparse.Namespace) -> int:
    from hccbayes.data.reconstruction.summaries import reconstruct
    from hccbayes.data.study import load_study
    from hccbayes.inference.frequentist.fidelity import fidelity, summary_line

    study = load_study(args.study)
    from_curves = _from_curves(study)
    if args.check or getattr(args, "command", None) == "fidelity":
        table = from_curves(study, args.cohort) if from_curves else fidelity(study, args.cohort)
        _print_table(table)
        missed = table[(table["kind"] == "soft") & ~table["passed"]]
        if len(missed):
            print("soft targets missed: " + ", ".join(missed["target"]))
        print(summary_line(table))
        return 0
    if from_curves:
        raise StudyError(Problem(str(study.folder / "study.toml"), f"the cohort of study '{study.name}' comes "
                                 "from digitised Kaplan–Meier curves ([km_curves]), not from published summaries",
                                 f"rebuild it with: hccbayes ipd-from-km --study {args.study}"))
    out = args.out or study.cohort_path
    start = time.perf_counter()
    df = reconstruct(study, seed=args.seed, out=out)
    print(f"wrote {len(df)} pseudo-patients to {out} in {time.perf_counter() - start:.1f} s")
    return 0
