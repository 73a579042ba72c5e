"""Write ``colon_for_r.csv``: the bundled colon study's cohort (data/studies/colon/cohort.csv, loaded and
validated by hccbayes.data.load_cohort) with the study's 0/1 factor columns as hccbayes derives them
(empty where the source column is missing) and the continuous columns age and nodes, for the R scripts
that give the colon reference values (R's coxph / survreg drop incomplete rows, as the complete-case
analyses of the plan do).

Commands that produced the committed reference outputs (from the repository root; R 4.2.2, survival 3.5.3):

  /work/venv/bin/python tests/reference/export_colon.py
  # Kaplan-Meier, log-rank and Cox by arm (the 3-arm model: lev + lev5fu vs observation)
  Rscript tests/reference/survival_reference.R tests/reference/colon_for_r.csv \\
      tests/reference/colon_reference_arm.csv lev,lev5fu arm \\
      rec:rec_days:rec_event,os:os_days:os_event 365,730,1095,1825 lev,lev5fu
  # the covariate-adjusted Cox model (complete cases; age and nodes per unit)
  Rscript tests/reference/survival_reference.R tests/reference/colon_for_r.csv \\
      tests/reference/colon_reference_adjusted.csv \\
      lev,lev5fu,age,male,obstruct,perfor,adhere,nodes,differ_poor,extent_deep,surg_long arm \\
      rec:rec_days:rec_event,os:os_days:os_event 1825
  # Weibull PH maximum likelihood and its g-computation medians and RMST per arm
  Rscript tests/reference/gcomp_reference.R tests/reference/colon_for_r.csv \\
      tests/reference/colon_gcomp.csv rec:rec_days:rec_event,os:os_days:os_event 1825 \\
      arm=lev,lev5fu adjusted=lev,lev5fu,age,male,obstruct,perfor,adhere,nodes,differ_poor,extent_deep,surg_long

Run: /work/venv/bin/python tests/reference/export_colon.py   (rewrites colon_for_r.csv next to this file)
"""
from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from hccbayes.data import load_cohort, load_study

HERE = Path(__file__).resolve().parent
OUT = HERE / "colon_for_r.csv"
FACTORS = ["lev", "lev5fu", "male", "obstruct", "perfor", "adhere", "nodes_gt4", "differ_poor", "extent_deep",
           "surg_long"]
CONTINUOUS = ["age", "nodes"]


def export_frame() -> pd.DataFrame:
    study = load_study("colon")
    df = load_cohort(study.cohort_path, study)
    cols = [study.id_column, study.arm_column]
    for ep in study.endpoints:
        cols += [ep.time, ep.event]
    out = df[cols].copy()
    out[study.arm_column] = out[study.arm_column].astype(str)
    for ep in study.endpoints:
        out[ep.event] = out[ep.event].astype("int64")
    for f in FACTORS:
        out[f] = df[f].astype("Int64")  # missing stays missing (R: NA)
    for c in CONTINUOUS:
        out[c] = df[c].astype(float)
    return out.reset_index(drop=True)


def export_text() -> str:
    buf = io.StringIO()
    export_frame().to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue()


def main() -> None:
    OUT.write_text(export_text())
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
