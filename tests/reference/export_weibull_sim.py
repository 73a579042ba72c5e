"""Write ``weibull_sim.csv``: the simulated Weibull proportional-hazards data of tests/test_survival_models.py
(tests/survival_sim.py ``weibull_ph(1500, (-0.5, 0.3, 0.7), 1.3, 0.05, seed=11)``: H(t | x) = 0.05 t^1.3 exp(xβ),
three binary covariates, uniform censoring on 5-40), for R's maximum-likelihood fit of the same data. Times are
written with Python's shortest round-trip repr, so R reads exactly the doubles the test fits.

Command that produced the committed reference output (run from the repository root; R 4.2.2, survival 3.5.3):

  /work/venv/bin/python tests/reference/export_weibull_sim.py
  Rscript tests/reference/weibull_reference.R tests/reference/weibull_sim.csv \\
      tests/reference/weibull_sim_survreg.csv os:time:event x1,x2,x3

tests/test_survival_models.py re-creates this export and compares it with the committed file.
"""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from survival_sim import weibull_ph  # noqa: E402

TRUE_BETA = (-0.5, 0.3, 0.7)
TRUE_SHAPE = 1.3
SCALE_RATE = 0.05
N, SEED = 1500, 11


def export_text() -> str:
    df = weibull_ph(N, TRUE_BETA, TRUE_SHAPE, SCALE_RATE, seed=SEED)
    lines = ["id,time,event,x1,x2,x3"]
    for r in df.itertuples():
        lines.append(f"{r.id},{r.time!r},{r.event},{int(r.x1)},{int(r.x2)},{int(r.x3)}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    (HERE / "weibull_sim.csv").write_text(export_text(), encoding="utf-8")
