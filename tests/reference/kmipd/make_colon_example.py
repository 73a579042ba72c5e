"""Write the inputs of the bundled example study ``data/studies/colon_km`` (run from the repository root):

    python tests/reference/kmipd/make_colon_example.py
    hccbayes ipd-from-km --study colon_km          # then rebuilds its cohort.csv from them

The "digitised" curves are the Kaplan–Meier curves of the public colon-trial data exported by
``export_trials.R`` (``trials.csv``, trial ``colon``: deaths, observation vs levamisole + 5-FU), read back
by the simulated digitiser of ``tests/kmipd_digitise.py`` (points every ~1.5 pixels of a 500-pixel plot
of 0–3650 days, reading noise 0.1% of the time axis and 0.2% of the survival axis, three slips per
curve, survival in percent as on the figure of a paper). The numbers at risk (every 365 days) and the
deaths per arm are R's (``reference.csv``). Same inputs, same bytes: the digitiser's seed is fixed.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from kmipd_digitise import digitise  # noqa: E402

GROUPS = {"Obs": "Observation", "Lev+5FU": "Levamisole + 5-FU"}  # trial arm -> legend label of the figure
SEED, AXIS_MAX = 1990, 3650.0


def main(out: Path = ROOT / "data" / "studies" / "colon_km") -> None:
    trials = pd.read_csv(HERE / "trials.csv")
    ref = pd.read_csv(HERE / "reference.csv", keep_default_na=False)
    colon = trials[trials["trial"] == "colon"]
    ref = ref[ref["trial"] == "colon"]
    rng = np.random.default_rng(SEED)
    curves = pd.concat([digitise(sub["time"], sub["event"], rng, AXIS_MAX, percent=True, group=GROUPS[arm])
                        for arm, sub in colon.groupby("arm", sort=False)], ignore_index=True)
    risk = ref[ref["quantity"] == "n_risk"]
    at_risk = pd.DataFrame({"group": risk["arm"].map(GROUPS), "time": risk["time"].astype(float).astype(int),
                            "n_risk": risk["value"].astype(float).astype(int)})
    ev = ref[ref["quantity"] == "events"]
    events = pd.DataFrame({"group": ev["arm"].map(GROUPS), "events": ev["value"].astype(float).astype(int)})
    for name, frame in (("curves.csv", curves), ("at_risk.csv", at_risk), ("events.csv", events)):
        frame.to_csv(out / name, index=False, lineterminator="\n")


if __name__ == "__main__":
    main()
