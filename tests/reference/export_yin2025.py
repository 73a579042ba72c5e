"""Write ``yin2025_for_r.csv``: the bundled yin2025 cohort (data/studies/yin2025/cohort.csv, loaded and
validated by hccbayes.data.load_cohort) reduced to what ``survival_reference.R`` needs: id, arm,
regimen (the grouping inside the TKI+ICI arm), the PFS/OS endpoint columns and the 0/1 factor columns
of Tables 4 and 5 (as derived by load_cohort from study.toml). Times are written with Python's
shortest round-trip repr, so R reads exactly the doubles the cohort CSV holds (checked below).

Commands that produced the committed reference outputs (run from the repository root; R 4.2.2 with
survival 3.5.3 at the time of writing, see the first line of each output file):

  /work/venv/bin/python tests/reference/export_yin2025.py
  # Table 4 population (whole cohort, KM/log-rank by arm; univariable, all-26-factor and p < 0.1 models)
  Rscript tests/reference/survival_reference.R tests/reference/yin2025_for_r.csv \
      tests/reference/yin2025_reference_output.csv \
      tki_ici,age_gt60,etiology_hbv,prior_surgery,prior_tace,prior_ablation,bclc_c,cirrhosis,number_gt3,size_gt5,pvtt,metastasis,child_pugh_b,albi_23,afp_gt400,male,ecog_1,crp_high,anri_high,lmr_high,nlr_high,plr_high,pni_high,sn_high,siri_high,afp_elevated \
      arm pfs:pfs_months:pfs_event,os:os_months:os_event 3,6,12,24
  # Table 5 population (TKI+ICI arm, n = 49, 8th argument arm=TKI+ICI; KM/log-rank by regimen, as the arm
  # is constant there; tki_ici is constant too and left out; "" = cox_multi with all 25 covariates)
  Rscript tests/reference/survival_reference.R tests/reference/yin2025_for_r.csv \
      tests/reference/yin2025_reference_output_tki_ici.csv \
      age_gt60,etiology_hbv,prior_surgery,prior_tace,prior_ablation,bclc_c,cirrhosis,number_gt3,size_gt5,pvtt,metastasis,child_pugh_b,albi_23,afp_gt400,male,ecog_1,crp_high,anri_high,lmr_high,nlr_high,plr_high,pni_high,sn_high,siri_high,afp_elevated \
      regimen pfs:pfs_months:pfs_event,os:os_months:os_event 3,6,12,24 "" arm=TKI+ICI
  # Weibull PH maximum likelihood (survreg) of the paper's 9-term multivariable PFS model (Table 4)
  Rscript tests/reference/weibull_reference.R tests/reference/yin2025_for_r.csv \
      tests/reference/yin2025_weibull_pfs_multi.csv pfs:pfs_months:pfs_event \
      tki_ici,crp_high,anri_high,lmr_high,nlr_high,plr_high,pni_high,sn_high,siri_high

  # Landmark analysis of AFP change after 8 weeks (TKI+ICI arm, from 1.84 months; tests/test_landmark.py)
  Rscript tests/reference/landmark_reference.R tests/reference/yin2025_for_r.csv \
      tests/reference/yin2025_landmark_afp.csv 1.84 afp_elevated arm=TKI+ICI \
      pfs:pfs_months:pfs_event,os:os_months:os_event

The test tests/test_reference_yin2025.py re-creates this export and compares it with the committed
file: if the cohort is regenerated, re-run the five commands
above and commit the new outputs.

Run: /work/venv/bin/python tests/reference/export_yin2025.py   (rewrites yin2025_for_r.csv next to this file)
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from hccbayes.data import load_cohort, load_study

HERE = Path(__file__).resolve().parent
OUT = HERE / "yin2025_for_r.csv"
# every factor of Tables 4 and 5 (Table 5, the TKI+ICI arm, has all of them except tki_ici)
FACTORS = ["tki_ici", "age_gt60", "etiology_hbv", "prior_surgery", "prior_tace", "prior_ablation", "bclc_c",
           "cirrhosis", "number_gt3", "size_gt5", "pvtt", "metastasis", "child_pugh_b", "albi_23", "afp_gt400",
           "male", "ecog_1", "crp_high", "anri_high", "lmr_high", "nlr_high", "plr_high", "pni_high", "sn_high",
           "siri_high", "afp_elevated"]


def export_frame() -> pd.DataFrame:
    study = load_study("yin2025")
    df = load_cohort(study.cohort_path, study)
    cols = [study.id_column, study.arm_column, study.regimen_column]
    for name in ("pfs", "os"):
        ep = study.endpoint(name)
        cols += [ep.time, ep.event]
    out = df[cols].copy()
    for c in (study.arm_column, study.regimen_column):
        out[c] = out[c].astype(str)
    for c in [study.endpoint(n).event for n in ("pfs", "os")]:
        out[c] = out[c].astype("int64")
    for f in FACTORS:
        if df[f].isna().any():
            raise ValueError(f"factor {f} has missing values; survival_reference.R expects complete 0/1 columns")
        out[f] = df[f].astype("int64")
    # the times R will read are exactly the cohort file's values
    raw = pd.read_csv(study.cohort_path, dtype=str, keep_default_na=False)
    for name in ("pfs", "os"):
        t = study.endpoint(name).time
        if not np.array_equal(raw[t].astype(float).to_numpy(), out[t].to_numpy(float)):
            raise ValueError(f"{t}: loaded times differ from the cohort CSV")
    return out.reset_index(drop=True)


def export_text() -> str:
    buf = io.StringIO()
    export_frame().to_csv(buf, index=False, lineterminator="\n")  # floats: shortest repr, round-trips
    return buf.getvalue()


def main() -> None:
    OUT.write_text(export_text())
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
