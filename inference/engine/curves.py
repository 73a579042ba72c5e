"""What the report's survival figures plot, computed by the run engine once per fit and stored in the run:

* ``curves.csv`` — per analysis, model and prior set, the posterior median and 95% equal-tailed band of
  the standardised survival curve S(t) (:func:`hccbayes.models.survival.quantities.standardised_curves`)
  at each level (0/1) of the contrast term, on a grid of :data:`GRID_STEP` time units from 0 to the last
  follow-up rounded up, from :data:`SURVIVAL_DRAWS` posterior draws (evenly thinned per chain: plenty for
  a 95% band);
* ``km.csv`` — per analysis and level, the Kaplan–Meier curve of the fitted patients at every distinct
  time (:func:`hccbayes.inference.frequentist.survival.km_table`: numbers at risk, events, censored, S).

Curves are made for the fits of analyses with strata and without regimen effects whose contrast term is a
0/1 indicator (the analyses with standardised medians in the table). Both files are written every run,
with a header only when no fit qualifies.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from hccbayes.atomic import write_csv
from hccbayes.inference.engine.rows_survival import level_labels
from hccbayes.inference.frequentist.survival import km_table
from hccbayes.models.survival.design import SurvivalData, SurvivalSpec
from hccbayes.models.survival.quantities import standardised_curves

log = logging.getLogger(__name__)

SURVIVAL_DRAWS = 400
GRID_STEP = 0.25
CI_PROB = 0.95
CURVE_COLUMNS = ["analysis", "model", "prior_set", "level", "group", "time", "lower", "median", "upper"]
KM_COLUMNS = ["analysis", "level", "group", "time", "n_risk", "events", "censored", "survival"]


def plotted_term(data: SurvivalData, spec: SurvivalSpec) -> str | None:
    """The contrast term whose levels a figure compares, or None when the fit gets no curves."""
    term = spec.contrast_term
    if spec.regimen_effects or term not in data.terms:
        return None
    column = data.X[:, data.terms.index(term)]
    return term if set(np.unique(column)) == {0.0, 1.0} else None


def thin(posterior, max_draws: int):
    """Every k-th draw of each chain so that at most about ``max_draws`` draws remain in all."""
    total = posterior.sizes["chain"] * posterior.sizes["draw"]
    step = max(1, -(-total // max_draws))
    return posterior.isel(draw=slice(None, None, step))


def figure_grid(data: SurvivalData) -> np.ndarray:
    t_max = float(np.ceil(data.time.max()))
    return np.round(np.arange(0.0, t_max + 1e-9, GRID_STEP), 10)


def posterior_bands(dt, data: SurvivalData, spec: SurvivalSpec, term: str) -> pd.DataFrame:
    """level, time, lower, median, upper of the standardised S(t) of one fit."""
    import xarray as xr

    thinned = xr.DataTree.from_dict({"posterior": thin(dt["posterior"].to_dataset(), SURVIVAL_DRAWS)})
    grid = figure_grid(data)
    curves = standardised_curves(thinned, data, spec, term, grid=grid)
    tail = (1 - CI_PROB) / 2
    frames = []
    for level in (0, 1):
        c = curves.sel(level=level).stack(sample=("chain", "draw")).values  # (time, samples)
        lo, mid, hi = np.quantile(c, [tail, 0.5, 1 - tail], axis=1)
        frames.append(pd.DataFrame(dict(level=level, time=grid, lower=lo, median=mid, upper=hi)))
    return pd.concat(frames, ignore_index=True)


def _labels(study, term: str) -> tuple[str, str]:
    return level_labels(study, term) if term in getattr(study, "factors", {}) else ("0", "1")


@dataclass
class FigureData:
    """The curves of a run, collected fit by fit (:meth:`add`) and written once (:meth:`write`)."""

    study: object
    curves: list[pd.DataFrame] = field(default_factory=list)
    km: list[pd.DataFrame] = field(default_factory=list)
    _km_done: set[str] = field(default_factory=set, init=False, repr=False)  # analyses whose KM is stored

    def add(self, analysis, prior_set: str, dt, data: SurvivalData, spec: SurvivalSpec) -> None:
        """The curves of one fit of ``analysis`` (a plan analysis: only one with strata gets curves)."""
        term = plotted_term(data, spec) if analysis.strata else None
        if term is None:
            return
        analysis = analysis.id
        labels = _labels(self.study, term)
        bands = posterior_bands(dt, data, spec, term)
        self.curves.append(bands.assign(analysis=analysis, model=spec.model, prior_set=prior_set,
                                        group=bands["level"].map(dict(enumerate(labels))))[CURVE_COLUMNS])
        if analysis not in self._km_done:
            self._km_done.add(analysis)
            x = data.X[:, data.terms.index(term)]
            for level, label in enumerate(labels):
                m = x == level
                table = km_table(data.time[m], data.event[m])
                self.km.append(table.assign(analysis=analysis, level=level, group=label)[KM_COLUMNS])

    def write(self, out: Path) -> None:
        for name, frames, columns in (("curves", self.curves, CURVE_COLUMNS), ("km", self.km, KM_COLUMNS)):
            frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
            write_csv(frame, Path(out) / f"{name}.csv", float_format="%.10g")
        log.info("survival curves of %d fit(s) written", len(self.curves))
