"""What the report's survival figures plot, computed by the run engine once per fit and stored in the run:

* ``curves.csv`` — per analysis, model and prior set, the posterior median and 95% equal-tailed band of
  the standardised survival curve S(t) (:func:`hccbayes.models.survival.quantities.group_curves`)
  of each group the analysis compares (:mod:`.groups`: the two levels of its contrast term, or the arms of
  a trial with three), on :data:`GRID_POINTS` equally spaced times from 0 to the last follow-up, from
  :data:`SURVIVAL_DRAWS` posterior draws (evenly thinned per chain: plenty for a 95% band);
* ``km.csv`` — per analysis and level, the Kaplan–Meier curve of the fitted patients at every distinct
  time (:func:`hccbayes.inference.frequentist.survival.km_table`: numbers at risk, events, censored, S).

Curves are made for the fits of analyses with strata and without regimen effects (the analyses with
standardised medians per group in the table). Both files are written every run,
with a header only when no fit qualifies.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from hccbayes.atomic import write_csv
from hccbayes.inference.engine.rows_survival import strata_for
from hccbayes.inference.frequentist.survival import km_table
from hccbayes.models.survival.design import SurvivalData, SurvivalSpec
from hccbayes.models.survival.quantities import group_curves, thin

log = logging.getLogger(__name__)

SURVIVAL_DRAWS = 400
GRID_POINTS = 241
CI_PROB = 0.95
CURVE_COLUMNS = ["analysis", "model", "prior_set", "level", "group", "time", "lower", "median", "upper"]
KM_COLUMNS = ["analysis", "level", "group", "time", "n_risk", "events", "censored", "survival"]


def figure_grid(data: SurvivalData) -> np.ndarray:
    return np.linspace(0.0, float(data.time.max()), GRID_POINTS)


def posterior_bands(dt, data: SurvivalData, spec: SurvivalSpec, settings) -> pd.DataFrame:
    """level (the group's index), time, lower, median, upper of the standardised S(t) of each group."""
    grid = figure_grid(data)
    curves = group_curves(thin(dt, SURVIVAL_DRAWS), data, spec, settings, grid)
    tail = (1 - CI_PROB) / 2
    frames = []
    for level, group in enumerate(settings):
        c = curves.sel(group=group).stack(sample=("chain", "draw")).values  # (time, samples)
        lo, mid, hi = np.quantile(c, [tail, 0.5, 1 - tail], axis=1)
        frames.append(pd.DataFrame(dict(level=level, time=grid, lower=lo, median=mid, upper=hi)))
    return pd.concat(frames, ignore_index=True)


@dataclass
class FigureData:
    """The curves of a run, collected fit by fit (:meth:`add`) and written once (:meth:`write`)."""

    study: object
    curves: list[pd.DataFrame] = field(default_factory=list)
    km: list[pd.DataFrame] = field(default_factory=list)
    _km_done: set[str] = field(default_factory=set, init=False, repr=False)  # analyses whose KM is stored

    def add(self, analysis, prior_set: str, dt, data: SurvivalData, spec: SurvivalSpec) -> None:
        """The curves of one fit of ``analysis`` (a plan analysis: only one with strata gets curves)."""
        groups = strata_for(analysis, self.study, data) if analysis.strata else None
        if groups is None:
            return
        analysis = analysis.id
        labels = list(groups.settings)
        bands = posterior_bands(dt, data, spec, groups.settings)
        self.curves.append(bands.assign(analysis=analysis, model=spec.model, prior_set=prior_set,
                                        group=bands["level"].map(dict(enumerate(labels))))[CURVE_COLUMNS])
        if analysis not in self._km_done:
            self._km_done.add(analysis)
            for level, (label, m) in enumerate(groups.members(data).items()):
                table = km_table(data.time[m], data.event[m])
                self.km.append(table.assign(analysis=analysis, level=level, group=label)[KM_COLUMNS])

    def mark_done(self, analysis: str, km: bool) -> None:
        """Curves of ``analysis`` were added from a stored analysis (:mod:`.memo_run`), its KM with them if ``km``."""
        if km:
            self._km_done.add(analysis)

    def write(self, out: Path) -> None:
        for name, frames, columns in (("curves", self.curves, CURVE_COLUMNS), ("km", self.km, KM_COLUMNS)):
            frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
            write_csv(frame, Path(out) / f"{name}.csv", float_format="%.10g")
        log.info("survival curves of %d fit(s) written", len(self.curves))
