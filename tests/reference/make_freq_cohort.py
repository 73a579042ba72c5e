"""Write ``freq_cohort.csv``: a deterministic synthetic cohort for checking the frequentist estimators
against R's survival package (``survival_reference.R``).

70 patients (21 "TKI", 49 "TKI+ICI", as in Yin et al. 2025), exponential latent times with covariate
effects, administrative censoring, times rounded to 0.1 month so that tied times occur, plus a few
ties and a tied event/censoring pair forced on purpose. The binary covariates borrow the names of
yin2025 binary columns (pvtt, metastasis, cirrhosis, prior_ablation) so that the Study-based helpers
can be exercised on the same file; ``tki_ici`` is the 0/1 arm indicator (the yin2025 factor name).
Nothing here is patient data.

``km_edge_cohort.csv`` holds three tiny hand-made groups for R's median rules (no randomness):
"flat_mid" (times 1..10, all events: S = 0.5 exactly on [5, 6), R's median is the midpoint 5.5),
"flat_end" (events at 1..4 of 8, the rest censored at 5..8: S stays at 0.5 to the end, where
print(survfit) and quantile(survfit) disagree: 4 vs (4 + 8) / 2 = 6) and "not_reached" (S never
reaches 0.5).

Run: python tests/reference/make_freq_cohort.py   (rewrites both CSVs next to this file)
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20250212
OUT = Path(__file__).resolve().parent / "freq_cohort.csv"
EDGE_OUT = Path(__file__).resolve().parent / "km_edge_cohort.csv"


def make_cohort(seed: int = SEED) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n_tki, n_combo = 21, 49
    n = n_tki + n_combo
    arm = np.array(["TKI"] * n_tki + ["TKI+ICI"] * n_combo)
    tki_ici = (arm == "TKI+ICI").astype(int)
    # correlated binary covariates through a shared latent "burden" score
    burden = rng.normal(size=n)
    pvtt = (burden + rng.normal(scale=1.0, size=n) > 0.4).astype(int)
    metastasis = (0.8 * burden + rng.normal(scale=1.0, size=n) > 0.0).astype(int)
    cirrhosis = (rng.uniform(size=n) < 0.85).astype(int)
    prior_ablation = (0.5 * tki_ici + rng.normal(size=n) > 0.3).astype(int)

    lp_pfs = -0.7 * tki_ici + 0.5 * pvtt + 0.3 * metastasis - 0.2 * prior_ablation
    lp_os = -0.5 * tki_ici + 0.4 * pvtt + 0.6 * metastasis + 0.3 * cirrhosis
    pfs_latent = rng.exponential(scale=5.0 * np.exp(-lp_pfs))
    os_latent = pfs_latent + rng.exponential(scale=7.0 * np.exp(-lp_os))
    censor = rng.uniform(8.0, 30.0, size=n)  # staggered entry, administrative cut-off

    os_t = np.round(np.minimum(os_latent, censor), 1)
    os_e = (os_latent <= censor).astype(int)
    pfs_t = np.round(np.minimum(pfs_latent, censor), 1)
    pfs_e = (pfs_latent <= censor).astype(int)
    # ties on purpose: events at the same time in both arms, and an event tied with a censoring
    pfs_t[[2, 30, 31]] = pfs_t[3]
    pfs_e[[2, 30, 31]] = 1
    os_t[[5, 40]] = os_t[6]
    os_e[[5, 40]] = [1, 0]
    os_t = np.maximum(os_t, pfs_t)  # PFS never exceeds OS
    pfs_t = np.maximum(pfs_t, 0.1)
    os_t = np.maximum(os_t, pfs_t)

    return pd.DataFrame({
        "id": [f"S{i + 1:03d}" for i in range(n)], "arm": arm, "tki_ici": tki_ici,
        "pfs_months": pfs_t, "pfs_event": pfs_e, "os_months": os_t, "os_event": os_e,
        "pvtt": pvtt, "metastasis": metastasis, "cirrhosis": cirrhosis, "prior_ablation": prior_ablation,
    })


def make_edge_cohort() -> pd.DataFrame:
    groups = {
        "flat_mid": ([float(t) for t in range(1, 11)], [1] * 10),
        "flat_end": ([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], [1, 1, 1, 1, 0, 0, 0, 0]),
        "not_reached": ([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [1, 1, 0, 0, 0, 0]),
    }
    rows = [(g, t, e) for g, (ts, es) in groups.items() for t, e in zip(ts, es)]
    out = pd.DataFrame(rows, columns=["arm", "pfs_months", "pfs_event"])
    out.insert(0, "id", [f"E{i + 1:02d}" for i in range(len(out))])
    return out


if __name__ == "__main__":
    make_cohort().to_csv(OUT, index=False, float_format="%.1f")
    make_edge_cohort().to_csv(EDGE_OUT, index=False, float_format="%.1f")
